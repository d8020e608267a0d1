# Builds a relocatable app bundle with PackageCompiler's create_app (mode = app): bin/<Package> runs the
# package's julia_main(). Run with --project=<PackageCompiler's environment>; reads the plan data file.
using PackageCompiler
include(joinpath(@__DIR__, "common.jl"))

target = cpu_target(PLAN)
println("sysimage-docker: building the app bundle for CPU target ", target)
t0 = time()
create_app(PLAN["app_dir"], PLAN["app_bundle"]; cpu_target = target, include_lazy_artifacts = false, force = true,
           compile_options(PLAN)...)
println("sysimage-docker: app bundle step took ", round(time() - t0; digits = 1), " s")
