# Builds the custom sysimage with PackageCompiler. Run with --project=<PackageCompiler's environment>;
# everything else comes from the plan data file named by SYSIMAGE_DOCKER_PLAN.
using PackageCompiler
include(joinpath(@__DIR__, "common.jl"))

packages = Symbol.(PLAN["packages"])
target = cpu_target(PLAN)
options = compile_options(PLAN)
println("sysimage-docker: baking ", join(string.(packages), ", "), " for CPU target ", target)
t0 = time()
create_sysimage(packages; sysimage_path = PLAN["sysimage_path"], project = PLAN["app_dir"], cpu_target = target,
                options...)
println("sysimage-docker: sysimage step took ", round(time() - t0; digits = 1), " s, ",
        filesize(PLAN["sysimage_path"]), " bytes")
