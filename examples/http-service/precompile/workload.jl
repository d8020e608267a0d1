# Precompile workload. It runs before the service's own source is copied into the builder (so that a
# source edit does not rebuild the sysimage), so it drives the same HTTP.jl router and JSON3 calls as
# src/GreetService.jl with local handlers: a server on a free port, the two routes, the client side.
using HTTP
using JSON3
using Sockets

router = HTTP.Router()
HTTP.register!(router, "GET", "/health", _ -> HTTP.Response(200, ["Content-Type" => "text/plain"], "ok"))
HTTP.register!(router, "GET", "/greet/{name}", function (req)
    name = HTTP.getparams(req)["name"]
    return HTTP.Response(200, ["Content-Type" => "application/json"],
                         JSON3.write((greeting = "Hello, $(name)!", length = length(name))))
end)

port, listener = Sockets.listenany(ip"127.0.0.1", 18080)
server = HTTP.serve!(router, ip"127.0.0.1", port; server = listener)
try
    @assert HTTP.get("http://127.0.0.1:$(port)/health").status == 200
    reply = JSON3.read(HTTP.get("http://127.0.0.1:$(port)/greet/workload").body)
    @assert reply.greeting == "Hello, workload!"
finally
    close(server)
end
