# Precompile workload: the calls bin/hello.jl makes, so they are compiled into the sysimage.
using Dates
using Printf

@printf("Hello, %s! It is %s UTC.\n", "workload", Dates.format(now(UTC), "yyyy-mm-dd HH:MM:SS"))
