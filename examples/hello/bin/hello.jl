# A stdlib-only hello: prints a greeting with the current UTC time.
using Dates
using Printf

name = isempty(ARGS) ? "world" : ARGS[1]
@printf("Hello, %s! It is %s UTC.\n", name, Dates.format(now(UTC), "yyyy-mm-dd HH:MM:SS"))
