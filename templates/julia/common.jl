# Shared by the builder scripts: the plan data file and the CPU target for this architecture. Base's own TOML
# reader (Base.parsed_toml, base/loading.jl, Julia 1.6+): the TOML stdlib may not be in the sysimage.
const PLAN = Base.parsed_toml(ENV["SYSIMAGE_DOCKER_PLAN"])

# Docker's TARGETARCH when BuildKit sets it, else the architecture of this Julia.
function docker_arch()
    arch = get(ENV, "TARGETARCH", "")
    isempty(arch) || return arch
    return Dict(:x86_64 => "amd64", :aarch64 => "arm64")[Sys.ARCH]
end

function cpu_target(plan)
    targets = plan["cpu_target"]
    haskey(targets, "default") && return targets["default"]
    arch = docker_arch()
    haskey(targets, arch) || error("sysimage-docker: no portable CPU target for $arch; set cpu_target")
    return targets[arch]
end

function existing(files)
    for file in files
        isfile(file) || error("sysimage-docker: workload file not found: $file")
    end
    return String.(files)
end

# Keyword arguments shared by create_sysimage and create_app: workloads and image options.
function compile_options(plan)
    options = Dict{Symbol,Any}(
        :precompile_execution_file => plan["run_workloads"] ? [joinpath(@__DIR__, "run_workloads.jl")] : String[],
        :precompile_statements_file => existing(plan["statements_files"]),
        :filter_stdlibs => plan["filter_stdlibs"],
    )
    haskey(plan, "incremental") && (options[:incremental] = plan["incremental"])
    return options
end
