#!/bin/sh
# Installs the builder's missing tools with the builder image's own package manager: apt-get (Debian,
# Ubuntu), apk (Alpine), microdnf or dnf (Fedora, UBI). Arguments: COMMAND=DEBIAN_PACKAGE pairs; a tool whose
# command already exists is not installed. The image's name comes in SYSIMAGE_DOCKER_BUILDER_IMAGE for messages.
# Old julia images (1.6-1.9) are based on Debian suites that left the mirrors: apt-get then retries from
# archive.debian.org. Anything else fails in one line naming the image and the way out.
set -u
image=${SYSIMAGE_DOCKER_BUILDER_IMAGE:-the builder image}
missing=""
for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing="$missing ${pair#*=}"
done
[ -z "$missing" ] && exit 0

fail() {
    echo "sysimage-docker: cannot install$missing in builder_image $image ($1): use a builder_image that has them, or set JULIA_CC to a C compiler the image has" >&2
    exit 1
}

# the same tools under other distributions' names
rename() {
    echo "$missing" | sed "$1"
}

if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update; then
        sources=$(ls /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null)
        [ -n "$sources" ] || fail "apt-get update failed"
        echo "sysimage-docker: apt-get update failed; retrying from archive.debian.org (a retired Debian suite)"
        # shellcheck disable=SC2086
        sed -i -e 's#https\?://deb.debian.org/debian-security#http://archive.debian.org/debian-security#' \
               -e 's#https\?://security.debian.org/debian-security#http://archive.debian.org/debian-security#' \
               -e 's#https\?://deb.debian.org/debian#http://archive.debian.org/debian#' \
               -e '/-updates/d' $sources
        apt-get -o Acquire::Check-Valid-Until=false update || fail "apt-get update failed, from archive.debian.org too"
    fi
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing || fail "apt-get install failed"
    rm -rf /var/lib/apt/lists/*
elif command -v apk >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    apk add --no-cache $missing || fail "apk add failed"
elif command -v microdnf >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    microdnf install -y $(rename 's/g++/gcc-c++/; s/openssh-client/openssh-clients/') || fail "microdnf install failed"
    microdnf clean all
elif command -v dnf >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    dnf install -y $(rename 's/g++/gcc-c++/; s/openssh-client/openssh-clients/') || fail "dnf install failed"
    dnf clean all
else
    fail "it has no apt-get, apk, microdnf or dnf"
fi
