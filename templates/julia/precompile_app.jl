# Precompiles the app's package and every dependency not baked into the sysimage, against the custom sysimage:
# run with -J<sysimage> --project=<app>, the image's cache-relevant julia_args, and JULIA_CPU_TARGET set by the
# RUN from process start (package images follow it).
#
# Without Pkg: from Julia 1.11 Pkg is not in the default sysimage, and its shipped cache is rejected under a
# custom one, so `using Pkg` here compiled Pkg and its stdlibs at every source edit; and Pkg.precompile()
# instantiates, which may download registries. Base.Precompilation.precompilepkgs (base/precompilation.jl,
# Julia 1.11+) precompiles the active environment with this process's cache flags.
#
# Before 1.11: Base.compilecache (base/loading.jl) writes a package's cache in a child process started with this
# process's julia_cmd() (the -J sysimage and the cache flags), as Pkg.precompile does; the package is not loaded
# here, so its __init__ does not run in the builder (Base.require did: a package whose __init__ needs a GPU, the
# network or a secret failed the build). Dependencies a package loads while it is compiled are compiled first by
# that child, as with Pkg. Base.isprecompiled (Julia 1.10+) skips what has a usable cache; on 1.6-1.9
# Base.stale_cachefile answers the same.
if isdefined(Base, :Precompilation) && isdefined(Base.Precompilation, :precompilepkgs)
    Base.Precompilation.precompilepkgs()
else
    function usable_cache(id::Base.PkgId, source::String)
        isdefined(Base, :isprecompiled) && return Base.isprecompiled(id)
        return any(path -> Base.stale_cachefile(source, path) !== true, Base.find_all_in_cache_path(id))
    end

    project = Base.parsed_toml(Base.active_project())
    names = collect(keys(get(project, "deps", Dict{String,Any}())))
    haskey(project, "name") && haskey(project, "uuid") && push!(names, project["name"])
    for name in sort!(names)
        id = Base.identify_package(name)
        id === nothing && error("sysimage-docker: $(name) is not in the active environment")
        haskey(Base.loaded_modules, id) && continue  # baked into the sysimage
        source = Base.locate_package(id)
        source === nothing && error("sysimage-docker: no source file for $(name) (is the environment instantiated?)")
        usable_cache(id, source) && continue
        # compilecache returns (not throws) a PrecompilableError for __precompile__(false), which Julia loads from
        # source at run time, as Pkg.precompile leaves it (base/loading.jl, `p.exitcode == 125`)
        if Base.compilecache(id) isa Base.PrecompilableError
            println("sysimage-docker: ", name, " opts out of precompilation")
        end
    end
end
println("sysimage-docker: precompiled ", Base.active_project(), " against ", unsafe_string(Base.JLOptions().image_file),
        " for ", get(ENV, "JULIA_CPU_TARGET", "the default CPU target"))
