# Runs `julia_main()` of the project's package, named by the first argument (the image's CMD passes it); the
# remaining arguments are the app's. Its return value is the exit status. Loads nothing but the package: this
# runs at every container start, and a stdlib outside the sysimage would be compiled there each time.
name = Symbol(popfirst!(ARGS))
mod = Base.require(Main, name)
isdefined(mod, :julia_main) || error("sysimage-docker: $(name) defines no julia_main()")
exit(Base.invokelatest(getfield(mod, :julia_main)))
