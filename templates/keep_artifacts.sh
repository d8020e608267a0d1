#!/bin/sh
# Runs a build step, then keeps the artifacts it installed where the runtime image gets them.
#   keep_artifacts.sh TO [--new DIR]... [--all DIR]... -- COMMAND [ARG]...
# Pkg installs an artifact into the artifacts/ directory of the first depot in DEPOT_PATH (Pkg v1.11.0
# src/Artifacts.jl, download_artifact: `first(artifacts_dirs())`; the Artifacts stdlib's artifacts_dirs lists
# DEPOT_PATH in order). Lazy artifacts a workload touches therefore land in PackageCompiler's own depot (first in
# the sysimage step, and its child process inherits that) or in the tracer stage: neither ships, and the runtime
# would download them at every start (or fail offline). After COMMAND succeeds, each artifact directory (named by
# its 40-hex tree hash) that appeared in a --new DIR while it ran, and each one in an --all DIR, is copied into TO
# unless TO has it. Artifacts are found by hash in any depot, so the copy is all it takes. COMMAND's status is kept.
set -u
to=$1
shift
new=""
all=""
while [ $# -gt 0 ]; do
    case "$1" in
        --new) new="$new $2"; shift 2 ;;
        --all) all="$all $2"; shift 2 ;;
        --) shift; break ;;
        *) echo "keep_artifacts.sh: unexpected argument $1" >&2; exit 2 ;;
    esac
done
before=" "
for dir in $new; do
    for path in "$dir"/*; do before="$before$path "; done
done
"$@" || exit $?
mkdir -p "$to"
for dir in $new $all; do
    for path in "$dir"/*; do
        name=${path##*/}
        case "$name" in *[!0-9a-f]*) continue ;; esac  # temporary directories, Overrides.toml
        [ ${#name} -eq 40 ] && [ -d "$path" ] && [ ! -e "$to/$name" ] || continue
        case "$before" in *" $path "*) continue ;; esac
        cp -a "$path" "$to/$name" || exit 1
        echo "sysimage-docker: artifact $name, installed while the step ran, kept in $to"
    done
done
