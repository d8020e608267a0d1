# Build PyCall against the system python3 (PYTHON comes from build_env) before the sysimage step bakes it.
import Pkg
Pkg.build("PyCall")
