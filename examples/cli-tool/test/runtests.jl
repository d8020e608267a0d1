using Test
using WordStats

@testset "WordStats" begin
    result = WordStats.stats("The cat and the hat, the end.")
    @test result.words == 7
    @test result.distinct == 5
    @test first(result.top) == (word = "the", count = 3)
end
