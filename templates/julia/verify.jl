# Reports, as JSON on stdout, what this image really loads: the sysimage, the Julia version, the CPU target
# the sysimage was built for, each package baked into it with its version beside the manifest's, direct
# dependencies that load from the depot instead, and artifacts the depot lacks. `sysimage-docker verify`
# runs it with the image's own entrypoint flags and judges the report.
const AT_START = collect(keys(Base.loaded_modules))  # before this script loads anything

# Nothing is loaded here but Base: the TOML and Artifacts stdlibs may not be in the sysimage, and compiling them
# in a fresh container would take seconds (and fail on a read-only depot). Base.parsed_toml is Base's own reader.
const PLAN = Base.parsed_toml(get(ENV, "SYSIMAGE_DOCKER_PLAN", "/opt/sysimage-docker/plan.toml"))

function jstr(s)  # a JSON string: quote, backslash and control characters escaped
    io = IOBuffer()
    print(io, '"')
    for c in string(s)
        if c == '"' || c == '\\'
            print(io, '\\', c)
        elseif c < ' '
            print(io, "\\u", string(UInt16(c); base = 16, pad = 4))
        else
            print(io, c)
        end
    end
    print(io, '"')
    return String(take!(io))
end
jlist(items) = "[" * join(items, ",") * "]"
jobj(pairs) = "{" * join([jstr(k) * ":" * v for (k, v) in pairs], ",") * "}"

function manifest_entries()
    project = Base.active_project()
    path = Base.project_file_manifest_path(project)
    path === nothing && return Dict{String,Any}()
    data = Base.parsed_toml(path)
    deps = haskey(data, "manifest_format") ? data["deps"] : data
    return Dict(name => entries[1] for (name, entries) in deps)
end

function baked_version(id::Base.PkgId)
    mod = Base.loaded_modules[id]
    dir = pkgdir(mod)
    dir === nothing && return ""
    for file in ("Project.toml", "JuliaProject.toml")
        path = joinpath(dir, file)
        isfile(path) && return string(get(Base.parsed_toml(path), "version", ""))
    end
    return ""
end

# An artifact's tree hashes: one, or one per platform (Pkg installs the host's; any one present counts).
function artifact_hashes(meta, artifact)
    entry = meta[artifact]
    variants = entry isa AbstractVector ? entry : [entry]
    return [v["git-tree-sha1"] for v in variants
            if v isa AbstractDict && !get(v, "lazy", false) && haskey(v, "git-tree-sha1")]
end

installed(hash) = any(isdir(joinpath(depot, "artifacts", hash)) for depot in DEPOT_PATH)

function missing_artifacts(entries)
    lost = String[]
    for (name, entry) in entries
        haskey(entry, "uuid") || continue
        id = Base.PkgId(Base.UUID(entry["uuid"]), name)
        dir = Base.locate_package(id)
        dir === nothing && continue
        toml = joinpath(dirname(dirname(dir)), "Artifacts.toml")
        isfile(toml) || continue
        meta = Base.parsed_toml(toml)
        for artifact in keys(meta)
            hashes = artifact_hashes(meta, artifact)
            isempty(hashes) || any(installed, hashes) || push!(lost, "$(name)/$(artifact)")
        end
    end
    return sort!(lost)
end

entries = manifest_entries()
at_start = Set(id.uuid for id in AT_START if id.uuid !== nothing)
baked = String[]
for id in AT_START
    id.uuid === nothing && continue
    entry = get(entries, id.name, nothing)
    entry === nothing && continue
    push!(baked, jobj(["name" => jstr(id.name), "baked" => jstr(baked_version(id)),
                       "manifest" => jstr(get(entry, "version", ""))]))
end
direct = get(Base.parsed_toml(Base.active_project()), "deps", Dict{String,Any}())
from_depot = sort!([name for (name, uuid) in direct if !(Base.UUID(uuid) in at_start)])
targets = PLAN["cpu_target"]
arch = get(Dict("x86_64" => "amd64", "aarch64" => "arm64"), string(Sys.ARCH), string(Sys.ARCH))
println(jobj([
    "sysimage" => jstr(unsafe_string(Base.JLOptions().image_file)),
    "julia_version" => jstr(VERSION),
    "cpu_target" => jstr(get(targets, "default", get(targets, arch, ""))),
    "baked" => jlist(baked),
    "from_depot" => jlist(jstr.(from_depot)),
    "missing_artifacts" => jlist(jstr.(missing_artifacts(entries))),
]))
