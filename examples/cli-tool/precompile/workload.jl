# Precompile workload: JSON3 writing of the shapes WordStats prints (runs before the package source is copied).
using JSON3

counts = Dict("the" => 3, "cat" => 1)
top = [(word = w, count = c) for (w, c) in sort!(collect(counts); by = p -> (-p.second, p.first))]
println(JSON3.write((file = "workload.txt", words = 4, distinct = 2, top = top)))
