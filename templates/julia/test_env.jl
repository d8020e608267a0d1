# Makes the project's test-only dependencies loadable for the test-suite workload, in an environment stacked
# after the app's on LOAD_PATH, so the app's own dependencies keep their manifest versions.
# Run with --project=<app>; reads the plan data file.
using Pkg
using TOML

const PLAN = TOML.parsefile(ENV["SYSIMAGE_DOCKER_PLAN"])

project = TOML.parsefile(Base.active_project())
test_project = joinpath(PLAN["app_dir"], "test", "Project.toml")
wanted = Dict{String,String}()
if isfile(test_project)  # test/Project.toml style
    merge!(wanted, get(TOML.parsefile(test_project), "deps", Dict{String,Any}()))
else  # [extras] + [targets] style
    extras = get(project, "extras", Dict{String,Any}())
    for name in get(get(project, "targets", Dict{String,Any}()), "test", String[])
        haskey(extras, name) && (wanted[name] = extras[name])
    end
end
loadable = Set(keys(get(project, "deps", Dict{String,Any}())))
haskey(project, "name") && push!(loadable, project["name"])
specs = [Pkg.PackageSpec(name = name, uuid = uuid) for (name, uuid) in wanted if !(name in loadable)]
Pkg.activate(PLAN["test_env"])
isempty(specs) || Pkg.add(specs)
println("sysimage-docker: test-only dependencies: ", join(sort!([s.name for s in specs]), ", "))
