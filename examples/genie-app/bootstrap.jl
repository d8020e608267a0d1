# Genie.loadapp() includes this file from the working directory (/app in the image).
include("routes.jl")
