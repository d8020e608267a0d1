# Installs the app's dependencies into the baked depot, exactly as the manifest records them.
# Run with --project=<app>; SYSIMAGE_DOCKER_RESOLVE=1 resolves first (manifest missing or out of sync).
using Pkg

if get(ENV, "SYSIMAGE_DOCKER_RESOLVE", "0") == "1"
    @warn "sysimage-docker: resolving versions in the builder; the image is not reproducible"
    Pkg.resolve()
end
# Precompiling here would compile against the stock sysimage, which the custom one rejects.
Pkg.instantiate()  # JULIA_PKG_PRECOMPILE_AUTO=0 in the builder
println("sysimage-docker: instantiated ", Base.active_project())
