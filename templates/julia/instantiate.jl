# Installs the app's dependencies into the baked depot, exactly as the manifest records them.
# Run with --project=<app>; reads the data file named by SYSIMAGE_DOCKER_INSTANTIATE (registries, resolve).
using Pkg
using TOML

const DATA = TOML.parsefile(ENV["SYSIMAGE_DOCKER_INSTANTIATE"])

registries = DATA["registries"]
if !isempty(registries)
    # adding any registry skips the automatic General install, so add General explicitly too
    installed = if isdefined(Pkg.Registry, :reachable_registries)
        [r.name for r in Pkg.Registry.reachable_registries()]
    else  # Julia 1.6
        [r.name for r in Pkg.Types.collect_registries()]
    end
    "General" in installed || Pkg.Registry.add("General")
    for (name, url) in sort!(collect(registries))
        name in installed && continue
        println("sysimage-docker: adding registry ", name)
        Pkg.Registry.add(Pkg.RegistrySpec(url = url))
    end
end
if DATA["resolve"]
    @warn "sysimage-docker: resolving versions in the builder; the image is not reproducible"
    Pkg.resolve()
end
# Precompiling here would compile against the stock sysimage, which the custom one rejects
# (JULIA_PKG_PRECOMPILE_AUTO=0 in the builder).
Pkg.instantiate()
println("sysimage-docker: instantiated ", Base.active_project())
