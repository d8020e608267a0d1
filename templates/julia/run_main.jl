# Runs `julia_main()` of the active project's package; its return value is the exit status.
using TOML

project = TOML.parsefile(Base.active_project())
name = Symbol(project["name"])
mod = Base.require(Main, name)
isdefined(mod, :julia_main) || error("sysimage-docker: $(name) defines no julia_main()")
exit(Base.invokelatest(getfield(mod, :julia_main)))
