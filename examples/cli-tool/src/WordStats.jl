module WordStats

using JSON3

"""Word counts of a text: total words, distinct words and the five most frequent."""
function stats(text::AbstractString)
    words = [lowercase(m.match) for m in eachmatch(r"[\p{L}\p{N}']+", text)]
    counts = Dict{String,Int}()
    for word in words
        counts[word] = get(counts, word, 0) + 1
    end
    top = first(sort!(collect(counts); by = p -> (-p.second, p.first)), 5)
    return (words = length(words), distinct = length(counts), top = [(word = w, count = c) for (w, c) in top])
end

"""Entry point of the container: `wordstats FILE...` prints one JSON object per file."""
function julia_main()::Cint
    if isempty(ARGS)
        println(stderr, "usage: wordstats FILE...")
        return 2
    end
    for path in ARGS
        isfile(path) || (println(stderr, "wordstats: no such file: ", path); return 1)
        println(JSON3.write((file = path, stats(read(path, String))...)))
    end
    return 0
end

end # module
