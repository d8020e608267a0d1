#!/bin/sh
# Installs system packages with the image's own package manager: apt-get (Debian, Ubuntu), apk (Alpine),
# microdnf or dnf (Fedora, UBI).
#   install_packages.sh --if-missing COMMAND=DEBIAN_PACKAGE...  the builder's tools: a tool whose command exists is
#                                                               not installed; other distributions' names are used
#   install_packages.sh NAME[=VERSION]...                       the user's packages, installed as named
# SYSIMAGE_DOCKER_IMAGE names the image in messages ("builder_image julia:1.11.5"). SYSIMAGE_DOCKER_APT_CACHE=1:
# apt's lists and archives are BuildKit cache mounts, not layers, so they are kept for the next build.
# Old julia images (1.6-1.9) are based on Debian suites that left the mirrors: apt-get then retries from
# archive.debian.org. Anything else fails in one line naming the image and the way out.
set -u
image=${SYSIMAGE_DOCKER_IMAGE:-the image}
tools=""
if [ "${1:-}" = "--if-missing" ]; then
    tools=1
    shift
fi
wanted=""
for arg in "$@"; do
    if [ -n "$tools" ]; then
        command -v "${arg%%=*}" >/dev/null 2>&1 || wanted="$wanted ${arg#*=}"
    else
        wanted="$wanted $arg"
    fi
done
[ -z "$wanted" ] && exit 0

fail() {
    if [ -n "$tools" ]; then
        echo "sysimage-docker: cannot install$wanted in $image ($1): use a builder_image that has them, or set JULIA_CC to a C compiler the image has" >&2
    else
        echo "sysimage-docker: cannot install$wanted in $image ($1)" >&2
    fi
    exit 1
}

# Fedora's names: the tools' packages are called differently there, and a pin is NAME-VERSION
fedora_names() {
    if [ -n "$tools" ]; then
        echo "$wanted" | sed 's/g++/gcc-c++/; s/openssh-client/openssh-clients/'
    else
        echo "$wanted" | sed 's/=/-/g'
    fi
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
    apt-get install -y --no-install-recommends $wanted || fail "apt-get install failed"
    [ "${SYSIMAGE_DOCKER_APT_CACHE:-}" = 1 ] || rm -rf /var/lib/apt/lists/*
elif command -v apk >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    apk add --no-cache $wanted || fail "apk add failed"
elif command -v microdnf >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    microdnf install -y $(fedora_names) || fail "microdnf install failed"
    microdnf clean all
elif command -v dnf >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    dnf install -y $(fedora_names) || fail "dnf install failed"
    dnf clean all
else
    fail "it has no apt-get, apk, microdnf or dnf"
fi
