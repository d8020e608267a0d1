# Builds the custom sysimage with PackageCompiler. Run with --project=<PackageCompiler's environment>;
# everything else comes from the plan data file named by SYSIMAGE_DOCKER_PLAN.
using PackageCompiler
include(joinpath(@__DIR__, "common.jl"))

# On failure only: load each package on its own in a child Julia to name the ones that cannot be baked.
# The name travels as an argument, never as code.
function unloadable(packages, project)
    bad = String[]
    for package in packages
        cmd = `$(Base.julia_cmd()) --startup-file=no --project=$(project) -e 'Base.require(Main, Symbol(ARGS[1]))' $(string(package))`
        success(pipeline(cmd; stdout = devnull, stderr = devnull)) || push!(bad, string(package))
    end
    return bad
end

# Statements about the project's own module are skipped by PackageCompiler unless it is baked (include_project):
# its code is not in the sysimage (UndefVarError). Say so when they are most of what a trace recorded.
function warn_unbaked_statements(plan)
    name = plan["unbaked_project"]
    isempty(name) && return
    lines = String[]
    for file in plan["statements_files"]
        isfile(file) && append!(lines, filter(startswith("precompile("), readlines(file)))
    end
    about = count(line -> occursin(name * ".", line), lines)
    if !isempty(lines) && about > length(lines) / 2
        println(stderr, "sysimage-docker: warning: ", about, " of ", length(lines), " traced statements are about ",
                name, ", which is not in the sysimage; they are skipped (include_project = true bakes it)")
    end
end

warn_unbaked_statements(PLAN)
packages = Symbol.(PLAN["packages"])
target = cpu_target(PLAN)
options = compile_options(PLAN)
println("sysimage-docker: baking ", join(string.(packages), ", "), " for CPU target ", target)
t0 = time()
try
    # julia_args that change generated code (-O, --check-bounds, -g, --inline) compile the sysimage too, as they
    # compile the depot's caches: create_sysimage's sysimage_build_args (PackageCompiler v2.1.0+)
    create_sysimage(packages; sysimage_path = PLAN["sysimage_path"], project = PLAN["app_dir"], cpu_target = target,
                    sysimage_build_args = Cmd(String.(PLAN["sysimage_build_args"])), options...)
catch err
    bad = unloadable(packages, PLAN["app_dir"])
    if !isempty(bad)
        println(stderr, "sysimage-docker: cannot bake ", join(bad, ", "), ": it fails to load on its own; ",
                "leave it out with exclude = [", join(repr.(bad), ", "), "]")
    end
    rethrow()
end
println("sysimage-docker: sysimage step took ", round(time() - t0; digits = 1), " s, ",
        filesize(PLAN["sysimage_path"]), " bytes")
