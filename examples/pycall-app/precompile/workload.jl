# Runs in the builder before the app's own source arrives: only the dependencies are used.
using PyCall
pyimport("statistics").median([1.0, 2.0, 3.0])
