# Runs in the builder before the app's own files arrive: only the dependencies are used.
using Genie, Genie.Renderer.Json

route("/warm") do
    json(Dict("warm" => true))
end
up(8001, "127.0.0.1"; async = true)
down()
