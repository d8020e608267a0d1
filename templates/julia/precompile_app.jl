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
const PLAN = Base.parsed_toml(ENV["SYSIMAGE_DOCKER_PLAN"])
const PROJECT = Base.parsed_toml(Base.active_project())
const DEPS = get(PROJECT, "deps", Dict{String,Any}())

function usable_cache(id::Base.PkgId, source::String)
    isdefined(Base, :isprecompiled) && return Base.isprecompiled(id)
    return any(path -> Base.stale_cachefile(source, path) !== true, Base.find_all_in_cache_path(id))
end

# Compiles `name`'s cache unless the sysimage holds it or a usable cache exists.
function ensure_cache(name::AbstractString)
    id = Base.identify_package(name)
    id === nothing && error("sysimage-docker: $(name) is not in the active environment")
    haskey(Base.loaded_modules, id) && return  # baked into the sysimage
    source = Base.locate_package(id)
    source === nothing && error("sysimage-docker: no source file for $(name) (is the environment instantiated?)")
    usable_cache(id, source) && return
    # compilecache returns (not throws) a PrecompilableError for __precompile__(false), which Julia loads from
    # source at run time, as Pkg.precompile leaves it (base/loading.jl, `p.exitcode == 125`)
    if Base.compilecache(id) isa Base.PrecompilableError
        println("sysimage-docker: ", name, " opts out of precompilation")
    end
end

# The packages a script names in `using`/`import` (parsed, not matched as text; relative `.X` left out).
function imported(path::AbstractString)
    names = Set{String}()
    function visit(ex)
        ex isa Expr || return
        if ex.head in (:using, :import)
            for arg in ex.args
                target = Meta.isexpr(arg, :(:)) ? arg.args[1] : arg
                target = Meta.isexpr(target, :as) ? target.args[1] : target  # `import A as B` (Julia 1.6+)
                if Meta.isexpr(target, :.) && !isempty(target.args) && target.args[1] isa Symbol &&
                   target.args[1] !== :.
                    push!(names, String(target.args[1]))
                end
            end
        else
            foreach(visit, ex.args)
        end
    end
    visit(Meta.parseall(read(path, String); filename = path))
    return names
end

if isdefined(Base, :Precompilation) && isdefined(Base.Precompilation, :precompilepkgs)
    Base.Precompilation.precompilepkgs()
else
    names = collect(keys(DEPS))
    haskey(PROJECT, "name") && haskey(PROJECT, "uuid") && push!(names, PROJECT["name"])
    foreach(ensure_cache, sort!(names))
end

# Stdlibs the entry script loads without declaring them in [deps]: Julia finds them through @stdlib in LOAD_PATH,
# and Julia's own caches of them (share/julia/compiled) are not in the image, as the custom sysimage rejects them.
script = PLAN["script"]
if !isempty(script) && isfile(script) && isdefined(Meta, :parseall)
    for name in sort!(collect(imported(script)))
        (haskey(DEPS, name) || get(PROJECT, "name", "") == name) && continue  # compiled above
        isdir(joinpath(Sys.STDLIB, name)) || continue  # not a stdlib: Julia cannot load it without [deps]
        println("sysimage-docker: ", script, " loads the stdlib ", name, ", which is not in [deps]: compiling it too")
        ensure_cache(name)
    end
end
println("sysimage-docker: precompiled ", Base.active_project(), " against ", unsafe_string(Base.JLOptions().image_file),
        " for ", get(ENV, "JULIA_CPU_TARGET", "the default CPU target"))
