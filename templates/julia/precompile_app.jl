# Precompiles the app's package and every dependency not baked into the sysimage, against the custom sysimage:
# run with -J<sysimage> --project=<app>, the image's cache-relevant julia_args, and JULIA_CPU_TARGET set by the
# RUN from process start (package images follow it).
#
# Without Pkg: from Julia 1.11 Pkg is not in the default sysimage, and its shipped cache is rejected under a
# custom one, so `using Pkg` here compiled Pkg and its stdlibs at every source edit; and Pkg.precompile()
# instantiates, which may download registries. Base.Precompilation.precompilepkgs (base/precompilation.jl,
# Julia 1.11+) precompiles the active environment with this process's cache flags; before it, loading each
# package compiles what it lacks (Base.require -> compilecache, base/loading.jl).
if isdefined(Base, :Precompilation) && isdefined(Base.Precompilation, :precompilepkgs)
    Base.Precompilation.precompilepkgs()
else
    project = Base.parsed_toml(Base.active_project())
    names = collect(keys(get(project, "deps", Dict{String,Any}())))
    haskey(project, "name") && haskey(project, "uuid") && push!(names, project["name"])
    for name in sort!(names)
        Base.require(Main, Symbol(name))
    end
end
println("sysimage-docker: precompiled ", Base.active_project(), " against ", unsafe_string(Base.JLOptions().image_file),
        " for ", get(ENV, "JULIA_CPU_TARGET", "the default CPU target"))
