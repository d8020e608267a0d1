# Installs PackageCompiler into its own environment (the active project, --project=<pc-env>).
# Parameterised only by SYSIMAGE_DOCKER_PACKAGECOMPILER, a Pkg version range such as "2.4".
using Pkg

function pkgversion_of(name::AbstractString)
    for (_, info) in Pkg.dependencies()
        info.name == name && return string(info.version)
    end
    return "unknown"
end

const VERSION_RANGE = ENV["SYSIMAGE_DOCKER_PACKAGECOMPILER"]
Pkg.add(Pkg.PackageSpec(name = "PackageCompiler", version = VERSION_RANGE))
Pkg.precompile()
println("sysimage-docker: PackageCompiler ", pkgversion_of("PackageCompiler"))
