using Genie, Genie.Renderer.Json, Dates

route("/") do
    "Hello from Genie, $(Dates.format(now(), "HH:MM")) local time"
end

route("/health") do
    json(Dict("status" => "ok"))
end
