# Builds the custom sysimage with PackageCompiler. Run with --project=<PackageCompiler's environment>;
# everything else comes from the plan data file named by SYSIMAGE_DOCKER_PLAN.
using PackageCompiler
include(joinpath(@__DIR__, "common.jl"))

function existing(files)
    for file in files
        isfile(file) || error("sysimage-docker: workload file not found: $file")
    end
    return String.(files)
end

packages = Symbol.(PLAN["packages"])
target = cpu_target(PLAN)
println("sysimage-docker: baking ", join(string.(packages), ", "), " for CPU target ", target)
t0 = time()
create_sysimage(
    packages;
    sysimage_path = PLAN["sysimage_path"],
    project = PLAN["app_dir"],
    precompile_execution_file = existing(PLAN["precompile_files"]),
    precompile_statements_file = existing(PLAN["statements_files"]),
    cpu_target = target,
)
println("sysimage-docker: sysimage step took ", round(time() - t0; digits = 1), " s, ",
        filesize(PLAN["sysimage_path"]), " bytes")
