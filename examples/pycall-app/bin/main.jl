using PyStats

values = isempty(ARGS) ? [3.0, 1.0, 2.0] : parse.(Float64, ARGS)
println("median: ", PyStats.median(values))
