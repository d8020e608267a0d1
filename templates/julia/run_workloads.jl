# Runs the configured workloads, in order: precompile execution files, then HTTP warm-up requests against the
# running app; with --test-suite, the project's test suite instead (the trace stage runs it as its own process,
# started in test/). PackageCompiler runs it as the precompile execution file, or the trace stage runs it under
# --trace-compile. A failing workload names its file and line and fails the build, unless
# allow_workload_errors = true. Everything comes from the plan data file.
using Sockets  # warm-up requests; Base.parsed_toml keeps TOML (and its compiles) out of the trace

const PLAN = Base.parsed_toml(ENV["SYSIMAGE_DOCKER_PLAN"])
const ALLOW_ERRORS = PLAN["allow_workload_errors"]

function fail(message::AbstractString)
    if ALLOW_ERRORS
        @warn message * " (allow_workload_errors = true: continuing)"
    else
        println(stderr, message)
        exit(1)
    end
end

function run_file(file::AbstractString)
    println("sysimage-docker: running workload ", file)
    try
        # into Main, as PackageCompiler does: a workload's own `include("helper.jl")` then works
        Base.include(Main, file)
    catch err
        where = err isa LoadError ? "$(err.file) failed at line $(err.line)" : "$(file) failed"
        inner = err isa LoadError ? err.error : err
        fail("sysimage-docker: workload $(where): $(sprint(showerror, inner))")
    end
end

function wait_for_port(port::Integer, seconds::Real)
    deadline = time() + seconds
    while time() < deadline
        try
            close(connect(ip"127.0.0.1", port))
            return true
        catch
            sleep(0.5)
        end
    end
    return false
end

function send(request, port::Integer)
    body = request["body"]
    sock = connect(ip"127.0.0.1", port)
    write(sock, "$(request["method"]) $(request["path"]) HTTP/1.1\r\nHost: 127.0.0.1\r\n",
          "Connection: close\r\nContent-Length: $(sizeof(body))\r\n\r\n", body)
    line = readline(sock)
    close(sock)
    parts = split(line)
    return length(parts) >= 2 ? something(tryparse(Int, parts[2]), 0) : 0
end

if "--test-suite" in ARGS
    # test-only dependencies come from an environment stacked after the app's (see test_env.jl)
    push!(LOAD_PATH, PLAN["test_env"])
    test_file = joinpath(PLAN["app_dir"], "test", "runtests.jl")
    # as Pkg.test runs it (Pkg v1.11.0 src/Operations.jl gen_test_code, line 1729; the same in 1.10 and 1.12):
    # from the test directory, with no arguments
    empty!(ARGS)
    cd(() -> run_file(test_file), dirname(test_file))
    exit(0)
end

for file in PLAN["precompile_files"]
    run_file(file)
end

requests = PLAN["warmup"]
if !isempty(requests)
    entry, port = PLAN["warmup_entry"], PLAN["port"]
    kind, value = entry["kind"], entry["value"]
    # started as the container starts it: a script, `-e CODE` or `-m MODULE` (which calls the module's main)
    empty!(ARGS)
    append!(ARGS, String.(entry["args"]))
    app = @async try
        if kind == "script"
            Base.include(Main, value)
        elseif kind == "eval"
            Base.include_string(Main, value, "command")
        else
            mod = Base.require(Main, Symbol(value))
            Base.invokelatest(getglobal(mod, :main), ARGS)
        end
    catch err
        fail("sysimage-docker: warm-up: the app ($(kind) $(value)) stopped: $(sprint(showerror, err))")
    end
    wait_for_port(port, 120) || fail("sysimage-docker: warm-up: nothing listens on port $(port) after 120 s")
    for request in requests
        status = try
            send(request, port)
        catch err
            fail("sysimage-docker: warm-up request $(request["method"]) $(request["path"]) failed: " *
                 sprint(showerror, err))
            0
        end
        println("sysimage-docker: warm-up ", request["method"], " ", request["path"], " -> ", status)
        if status != request["status"]
            fail("sysimage-docker: warm-up request $(request["method"]) $(request["path"]) answered $(status), " *
                 "expected $(request["status"])")
        end
    end
    exit(0)  # stops the app's server task
end
