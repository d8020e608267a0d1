module GreetService

using HTTP
using JSON3

const ROUTER = HTTP.Router()

health(::HTTP.Request) = HTTP.Response(200, ["Content-Type" => "text/plain"], "ok")

function greet(req::HTTP.Request)
    name = HTTP.getparams(req)["name"]
    body = JSON3.write((greeting = "Hello, $(name)!", length = length(name)))
    return HTTP.Response(200, ["Content-Type" => "application/json"], body)
end

HTTP.register!(ROUTER, "GET", "/health", health)
HTTP.register!(ROUTER, "GET", "/greet/{name}", greet)

"""Serve on `port` (default: the PORT environment variable, else 8080) until interrupted."""
function main(port::Integer = parse(Int, get(ENV, "PORT", "8080")))
    @info "GreetService listening" port
    HTTP.serve(ROUTER, "0.0.0.0", port)
end

end # module
