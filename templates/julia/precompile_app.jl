# Precompiles the app package and any dependency not in the sysimage, under the custom sysimage
# (run with -J<sysimage> --project=<app>), for the same CPU target as the sysimage.
using Pkg
include(joinpath(@__DIR__, "common.jl"))

# Package images follow JULIA_CPU_TARGET; the precompile workers inherit it from ENV.
ENV["JULIA_CPU_TARGET"] = cpu_target(PLAN)
Pkg.precompile()
println("sysimage-docker: precompiled ", Base.active_project(), " against ", unsafe_string(Base.JLOptions().image_file))
