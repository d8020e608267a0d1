module PyStats

using PyCall

"""The median of `xs`, computed by Python's statistics module."""
median(xs::AbstractVector{<:Real}) = pyimport("statistics").median(collect(Float64, xs))

end
