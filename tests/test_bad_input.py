"""Bad input: one clear line on stderr, exit status 2, no traceback, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

HELLO_PROJECT = (EXAMPLES / "hello" / "Project.toml").read_text()
SERVICE = EXAMPLES / "http-service"
TO_ROOT = "/".join([".."] * 40)  # from any project, above every directory: `/`

# id -> (files to write over a copy of examples/http-service (None deletes), extra args, env, expected message)
SERVICE_MANIFEST = (EXAMPLES / "http-service" / "Manifest.toml").read_text()
CASES: dict[str, tuple[dict[str, str | bytes | None], list[str], dict[str, str], str]] = {
    "no project file": ({"Project.toml": None}, [], {}, "{p}: no Project.toml or JuliaProject.toml (is this a Julia project?)"),
    "malformed project toml": ({"Project.toml": 'name = "X"\n[deps\n'}, [], {},
                               "Project.toml:2:6: invalid TOML: Expected ']' at the end of a table declaration"),
    "project not utf-8": ({"Project.toml": b'name = "\xff"\n'}, [], {}, "Project.toml:1: not valid UTF-8 (byte 0xff)"),
    "dep uuid not a uuid": ({"Project.toml": '[deps]\nHTTP = "nope"\n'}, [], {},
                            "Project.toml: [deps] HTTP: 'nope' is not a UUID"),
    "project version injection": ({"Project.toml": 'version = "1.0.0-$(touch /pwned)"\n'}, [], {},
                                  "Project.toml: version '1.0.0-$(touch /pwned)' is not a version number (e.g. 1.2.0)"),
    "bad package name": ({"Project.toml": 'name = "my app"\n'}, [], {},
                         "Project.toml: name 'my app' is not a valid Julia package name"),
    "bad compat": ({"Project.toml": HELLO_PROJECT.replace('julia = "1.10"', 'julia = "one"')}, [], {},
                   "Project.toml: [compat] julia: invalid compat specifier 'one'"),
    "no manifest": ({"Manifest.toml": None}, [], {},
                    "{name}: no Manifest.toml: commit one (julia --project -e 'using Pkg; Pkg.resolve()') or set "
                    "resolve = true to resolve in the builder"),
    "manifest lacks a dep": ({"Project.toml": HELLO_PROJECT.replace("[deps]", '[deps]\nCSV = "336ed68f-0bac-5ca0-87d4-7b16caf5d00b"')},
                             [], {}, "Manifest.toml is out of sync with Project.toml: it lacks CSV; re-resolve "
                             "(julia --project -e 'using Pkg; Pkg.resolve()') or set resolve = true"),
    "malformed manifest": ({"Manifest.toml": "[[deps.X]\n"}, [], {}, "Manifest.toml:1:9: invalid TOML: Expected ']]' at the end of an array declaration"),
    "manifest entry without uuid": ({"Manifest.toml": 'manifest_format = "2.0"\n[[deps.HTTP]]\nversion = "1.0.0"\n'}, [], {},
                                    "Manifest.toml: HTTP: uuid None is not a UUID"),
    "path dependency with NUL": ({"Manifest.toml": (EXAMPLES / "http-service" / "Manifest.toml").read_text() + '\n[[deps.Local]]\npath = "a\\u0000b"\nuuid = "00000000-0000-4000-8000-000000000001"\n'}, [], {},
                                 "Manifest.toml: path dependency Local: 'a\\x00b' is not a usable path"),
    "ambiguous manifest": ({"Manifest.toml": (EXAMPLES / "http-service" / "Manifest.toml").read_text() + '\n[[deps.Twin]]\nuuid = "00000000-0000-4000-8000-000000000001"\n\n[[deps.Twin]]\nuuid = "00000000-0000-4000-8000-000000000002"\n\n[[deps.UsesTwin]]\ndeps = ["Twin"]\nuuid = "00000000-0000-4000-8000-000000000003"\n'}, [], {},
                           "Manifest.toml: UsesTwin lists its dependency 'Twin' by name, but the manifest has 2 entries of that name: Pkg refuses it as ambiguous; re-resolve the manifest"),
    "manifest name with a final newline": ({"Manifest.toml": 'manifest_format = "2.0"\n[[deps."HTTP\\n"]]\nuuid = "cd3eb016-35fb-5094-929b-558a96fad6f3"\n'}, [], {},
                                           "Manifest.toml: 'HTTP\\n' is not a valid Julia package name"),
    "manifest uuid with a final newline": ({"Manifest.toml": 'manifest_format = "2.0"\n[[deps.HTTP]]\nuuid = "cd3eb016-35fb-5094-929b-558a96fad6f3\\n"\n'}, [], {},
                                           "Manifest.toml: HTTP: uuid 'cd3eb016-35fb-5094-929b-558a96fad6f3\\n' is not a UUID"),
    "manifest entry registries not strings": ({"Manifest.toml": 'manifest_format = "2.1"\n[[deps.HTTP]]\nuuid = "cd3eb016-35fb-5094-929b-558a96fad6f3"\nregistries = 5\n'}, [], {},
                                             "Manifest.toml: HTTP: registries must be a string or an array of strings"),
    "manifest registry without uuid": ({"Manifest.toml": 'manifest_format = "2.1"\n[registries."Evil\\n$(id)"]\nurl = "https://example.com/R"\n[[deps.HTTP]]\nuuid = "cd3eb016-35fb-5094-929b-558a96fad6f3"\n'}, [], {},
                                       "Manifest.toml: [registries.'Evil\\n$(id)'] needs a uuid"),
    "manifest registry url not a string": ({"Manifest.toml": 'manifest_format = "2.1"\n[registries.R]\nuuid = "cd3eb016-35fb-5094-929b-558a96fad6f3"\nurl = 1\n[[deps.HTTP]]\nuuid = "cd3eb016-35fb-5094-929b-558a96fad6f3"\n'}, [], {},
                                           "Manifest.toml: [registries.'R']: url must be a string"),
    "unsupported manifest format": ({"Manifest.toml": 'manifest_format = "3.0"\n'}, [], {},
                                    "Manifest.toml: manifest_format '3.0' is not supported (expected 1.0 or 2.x)"),
    "config syntax": ({"sysimage-docker.toml": 'ports = [8080\n'}, [], {},
                      "sysimage-docker.toml:2:1: invalid TOML: Unclosed array"),
    "config unknown key": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nport = 8080\n'}, [], {},
                           "sysimage-docker.toml:2:1: unknown key 'port'; did you mean 'ports'?"),
    "config wrong type": ({"sysimage-docker.toml": 'ports = "8080"\n'}, [], {},
                          "sysimage-docker.toml:1:1: ports: expected an array, got string"),
    "config wrong item type": ({"sysimage-docker.toml": 'ports = ["8080"]\n'}, [], {},
                               "sysimage-docker.toml:1:1: ports: expected an array of whole numbers, got an item of type string"),
    "config bool as string": ({"sysimage-docker.toml": 'trace = "yes"\n'}, [], {},
                              "sysimage-docker.toml:1:1: trace: expected true or false, got string"),
    "config table value type": ({"sysimage-docker.toml": '[env]\nA = 1\n'}, [], {},
                                "sysimage-docker.toml:2:1: env.A: expected a string"),
    "port out of range": ({}, ["--port", "70000"], {}, "--port: port 70000 is not between 1 and 65535"),
    "root user id": ({}, ["--user-id", "0"], {}, "--user-id: 0 is not a non-root uid (1 to 2147483646)"),
    "listed package not a dep": ({}, ["--packages", "HTTP,DataFrames"], {},
                                 "packages: DataFrames is not a dependency in Project.toml (direct dependencies: HTTP, JSON3)"),
    "precompile file missing": ({}, ["--precompile-file", "precompile/nope.jl"], {},
                                "precompile_files: precompile/nope.jl: file not found in the project"),
    "precompile file escapes": ({}, ["--precompile-file", "../outside.jl"], {},
                                "--precompile-file: '../outside.jl' escapes the project ('..')"),
    "precompile file absolute": ({}, ["--statements-file", "/etc/passwd"], {},
                                 "--statements-file: '/etc/passwd' must be relative to the project, not absolute"),
    "script with dollar": ({}, ["--script", "bin/$HOME.jl"], {},
                           "--script: 'bin/$HOME.jl' has characters that cannot be placed safely in a Dockerfile "
                           "(allowed: letters, digits, space and . _ + @ = , - /)"),
    "unknown julia version": ({}, ["--julia-version", "1.99.0"], {},
                              "unknown Julia version 1.99.0 (built-in table knows up to 1.12.7); run `sysimage-docker "
                              "versions --refresh` when online"),
    "julia version garbage": ({}, ["--julia-version", "latest"], {},
                              "julia_version 'latest' is not a Julia version (expected e.g. 1.11.5 or 1.11)"),
    "image with newline": ({}, ["--runtime-image", "debian\nRUN rm -rf /"], {},
                           "--runtime-image: control characters (newline, tab, NUL...) cannot be placed in an image"),
    "image reference invalid": ({}, ["--builder-image", "Julia Latest"], {},
                                "--builder-image: 'Julia Latest' is not a valid image reference (invalid reference format)"),
    "cpu target injection": ({}, ["--cpu-target", "generic\" && rm -rf / #"], {},
                             "--cpu-target: 'generic\" && rm -rf / #' is not a valid Julia cpu target"),
    "env name invalid": ({}, ["--env", "A B=1"], {}, "--env: 'A B' is not a valid environment variable name"),
    "env without equals": ({}, ["--env", "JUSTNAME"], {}, "--env: expected KEY=VALUE, got 'JUSTNAME'"),
    "env value newline": ({}, ["--env", "A=1\nRUN x"], {},
                          "--env.A: control characters (newline, tab, NUL...) cannot be placed in an image"),
    "reserved env": ({}, ["--env", "JULIA_DEPOT_PATH=/tmp"], {},
                     "env: JULIA_DEPOT_PATH is managed by sysimage-docker (the baked depot must stay in it)"),
    "label key invalid": ({}, ["--label", "Bad Key=1"], {},
                          "--label: 'Bad Key' is not a valid label key (lower-case letters, digits, . _ -)"),
    "reserved label": ({}, ["--label", "dev.sysimage-docker.packages=none"], {},
                       "labels: 'dev.sysimage-docker.packages': the dev.sysimage-docker.* labels are set by sysimage-docker"),
    "healthcheck without port": ({"sysimage-docker.toml": 'healthcheck_path = "/health"\n'}, [], {},
                                 "healthcheck_path needs a port (ports = [8080]) to probe"),
    "healthcheck path bad": ({}, ["--healthcheck-path", "health"], {},
                             "--healthcheck-path: 'health' is not an absolute URL path such as /health"),
    "script and julia_main": ({}, ["--julia-main"], {}, "script and julia_main both set: the container runs one of them"),
    "env var bool garbage": ({}, [], {"SYSIMAGE_DOCKER_TRACE": "maybe"},
                             "SYSIMAGE_DOCKER_TRACE: expected true or false, got 'maybe'"),
    "env var int garbage": ({}, [], {"SYSIMAGE_DOCKER_USER_ID": "root"},
                            "SYSIMAGE_DOCKER_USER_ID: expected a whole number, got 'root'"),
    "env var port list garbage": ({}, [], {"SYSIMAGE_DOCKER_PORTS": "80,http"},
                                  "SYSIMAGE_DOCKER_PORTS: expected a whole number, got 'http'"),
    "flag int garbage": ({}, ["--user-id", "abc"], {}, "Invalid value for '--user-id': 'abc' is not a valid integer."),
    "unknown flag": ({}, ["--qqqq"], {}, "No such option '--qqqq'."),
    "explicit config missing": ({}, ["--config", "missing.toml"], {}, "missing.toml: file not found"),
    "pc version injection": ({}, ["--packagecompiler-version", "2.4; rm -rf /"], {},
                             "--packagecompiler-version: '2.4; rm -rf /' is not a version such as 2.4 or 2.4.0"),
    "julia path relative": ({}, ["--julia-path", "usr/julia"], {},
                            "--julia-path: 'usr/julia' is not an absolute path in the image (letters, digits and . _ + @ = -, no '..')"),
    "registry url with a token": ({}, ["--registry", "Mine=https://user:tok@github.com/org/Mine.git"], {},
                                  "--registry.Mine: 'https://github.com/org/Mine.git' is given with credentials in the URL; pass tokens as the git-credentials secret (private_git = \"token\", --secret)"),
    "registry url with a token parameter": ({"sysimage-docker.toml": '[registries]\nMine = "https://github.com/org/Mine.git?access_token=tok"\n'}, [], {},
                                            "sysimage-docker.toml:1:1: registries.Mine: 'https://github.com/org/Mine.git' is given with credentials in the URL; pass tokens as the git-credentials secret (private_git = \"token\", --secret)"),
    "manifest repo-url with a token": ({"Manifest.toml": (EXAMPLES / "http-service" / "Manifest.toml").read_text() + '\n[[deps.Private]]\nuuid = "00000000-0000-4000-8000-000000000009"\nrepo-url = "https://ci:ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5@github.com/acme/Private.jl.git"\nrepo-rev = "main"\ngit-tree-sha1 = "0123456789abcdef0123456789abcdef01234567"\n'}, [], {},
                                       "Manifest.toml: Private: repo-url carries credentials, and the manifest is copied into the image: remove them and pass a git-credentials secret (private_git = \"token\", --secret)"),
    "manifest repo-url with a token after a newline": ({"Manifest.toml": (EXAMPLES / "http-service" / "Manifest.toml").read_text() + '\n[[deps.Private]]\nuuid = "00000000-0000-4000-8000-000000000009"\nrepo-url = "https://h.example/x\\nhttps://ci:ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5@github.com/acme/P.jl"\ngit-tree-sha1 = "0123456789abcdef0123456789abcdef01234567"\n'}, [], {},
                                                        "Manifest.toml: Private: repo-url holds unprintable characters, which no URL has"),
    "manifest repo-url with a token parameter": ({"Manifest.toml": (EXAMPLES / "http-service" / "Manifest.toml").read_text() + '\n[[deps.Private]]\nuuid = "00000000-0000-4000-8000-000000000009"\nrepo-url = "https://gitlab.example.com/acme/Private.jl.git?private_token=glpat-aB3dE5gH7jK9mN1pQ3sT"\ngit-tree-sha1 = "0123456789abcdef0123456789abcdef01234567"\n'}, [], {},
                                                 "Manifest.toml: Private: repo-url carries credentials, and the manifest is copied into the image: remove them and pass a git-credentials secret (private_git = \"token\", --secret)"),
    "registry name invalid": ({}, ["--registry", "my reg=https://github.com/org/R.git"], {}, "--registry: 'my reg' is not a valid registry name"),
    "private git unknown": ({}, ["--private-git", "password"], {}, "--private-git: 'password' is not one of none, token, ssh"),
    "private git without buildkit": ({}, ["--private-git", "ssh", "--no-buildkit"], {},
                                     "private_git = ssh needs BuildKit (secret and ssh mounts exist only there): use buildx or a docker client before 23, not --no-buildkit"),
    "config file too big": ({"sysimage-docker.toml": "# " + "x" * (1024 * 1024) + "\n"}, [], {},
                            "sysimage-docker.toml: file is 1048579 bytes, over the 1048576 byte limit"),
    "huge list of missing deps": ({"Project.toml": "[deps]\n" + "".join(f'P{i} = "00000000-0000-0000-0000-{i:012d}"\n' for i in range(500))}, [], {},
                                  "Manifest.toml is out of sync with Project.toml: it lacks P0, P1, P10, P100, P101, P102, P103, P104, P105, P106 and 490 more; re-resolve (julia --project -e 'using Pkg; Pkg.resolve()') or set resolve = true"),
    "filter stdlibs incremental": ({}, ["--filter-stdlibs"], {},
                                   "filter_stdlibs needs incremental = false (PackageCompiler filters stdlibs only in a sysimage built from scratch)"),
    "app filter stdlibs with incremental": ({}, ["--mode", "app", "--filter-stdlibs", "--incremental"], {},
                                            "filter_stdlibs needs incremental = false (PackageCompiler filters stdlibs only in a sysimage built from scratch)"),
    "pkgimage include project": ({}, ["--mode", "pkgimage", "--include-project"], {},
                                 "include_project does not apply to mode = pkgimage: there is no sysimage"),
    "app with script": ({}, ["--mode", "app"], {}, "mode = app runs the package's julia_main(); leave script out"),
    "app on a plain environment": ({"Project.toml": HELLO_PROJECT, "sysimage-docker.toml": ""}, ["--mode", "app"], {},
                                   "mode = app needs a package project (name and uuid in Project.toml)"),
    "include project on a plain environment": ({"Project.toml": HELLO_PROJECT}, ["--include-project"], {},
                                               "include_project needs a package project (name and uuid in Project.toml)"),
    "unknown mode": ({}, ["--mode", "fast"], {}, "--mode: 'fast' is not one of sysimage, pkgimage, app"),
    "exclude unknown": ({}, ["--exclude", "Plots"], {}, "exclude: Plots is not a dependency in Project.toml"),
    "warmup without ports": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nwarmup = [{ path = "/health" }]\n'}, [], {},
                             "warmup needs the app to start (script, command or julia_module) and ports (where it listens)"),
    "warmup with a command it cannot start": ({"sysimage-docker.toml": 'command = ["-L", "x.jl"]\nports = [8080]\nwarmup = [{ path = "/health" }]\n'}, [], {},
                                              "warmup: the trace starts a command of the form -e CODE or SCRIPT.jl ARGS, not '-L'"),
    "warmup bad method": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nports = [8080]\nwarmup = [{ method = "FETCH", path = "/" }]\n'}, [], {},
                          "sysimage-docker.toml:3:1: warmup[0].method: 'FETCH' is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
    "warmup bad status": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nports = [8080]\nwarmup = [{ path = "/", status = 99 }]\n'}, [], {},
                          "sysimage-docker.toml:3:1: warmup[0].status: 99 is not an HTTP status (100-599)"),
    "warmup unknown key": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nports = [8080]\nwarmup = [{ url = "/" }]\n'}, [], {},
                           "sysimage-docker.toml:3:1: warmup[0]: unknown key 'url' (method, path, body, status)"),
    "test workload without tests": ({}, ["--test-workload"], {}, "test_workload: test/runtests.jl: file not found in the project"),
    "context warn size negative": ({}, [], {"SYSIMAGE_DOCKER_CONTEXT_WARN_MB": "-1"},
                                   "SYSIMAGE_DOCKER_CONTEXT_WARN_MB: -1 is not a size in MB (0 turns the warning off)"),
    "cache repo with a tag": ({}, [], {"SYSIMAGE_DOCKER_CACHE_REPO": "reg.example.com/cache:v1"},
                              "SYSIMAGE_DOCKER_CACHE_REPO: 'reg.example.com/cache:v1' names a tag; give the repository only (e.g. registry.example.com/team/app-cache): the stage tags are derived from it"),
    "cache repo invalid": ({}, [], {"SYSIMAGE_DOCKER_CACHE_REPO": "Reg/Cache"},
                           "SYSIMAGE_DOCKER_CACHE_REPO: 'Reg/Cache' is not a valid image reference (repository name must be lowercase)"),
    "removed key replace_default": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nreplace_default = true\n'}, [], {},
                                    "sysimage-docker.toml:2:1: replace_default: removed in 0.2: every sysimage-mode image now ships its sysimage as Julia's default lib/julia/sys.so (and no stock one), so plain `julia` uses it; delete the key"),
    "system package with shell characters": ({}, ["--system-package", "curl; rm -rf /"], {},
                                             "--system-package: 'curl; rm -rf /' is not a system package name (letters, digits and . + _ -, optionally =VERSION)"),
    "system package with a space": ({"sysimage-docker.toml": 'system_packages = ["lib gomp1"]\n'}, [], {},
                                    "sysimage-docker.toml:1:1: system_packages: 'lib gomp1' is not a system package name (letters, digits and . + _ -, optionally =VERSION)"),
    "builder package option injection": ({}, ["--builder-package", "-o=APT::x"], {},
                                         "--builder-package: '-o=APT::x' is not a system package name (letters, digits and . + _ -, optionally =VERSION)"),
    "apt.txt with a command": ({"apt.txt": "tzdata\n$(reboot)\n"}, [], {},
                               "apt.txt:2: '$(reboot)' is not a system package name (letters, digits and . + _ -, optionally =VERSION)"),
    "hook file missing": ({}, ["--hook", "after_instantiate=deploy/nope.jl"], {},
                          "hooks.after_instantiate: deploy/nope.jl: file not found in the project"),
    "hook outside the project": ({"sysimage-docker.toml": '[hooks]\nafter_source = ["../outside.sh"]\n'}, [], {},
                                 "sysimage-docker.toml:1:1: hooks.after_source: '../outside.sh' escapes the project ('..')"),
    "hook not executable": ({"deploy.sh": "echo hi\n"}, ["--hook", "after_source=deploy.sh"], {},
                            "hooks.after_source: deploy.sh: not executable (chmod +x it, or write the hook as a .jl file)"),
    "hook unknown stage": ({}, ["--hook", "before_build=bin/server.jl"], {},
                           "--hook: unknown hook 'before_build' (after_instantiate, after_source, runtime)"),
    "runtime hook in julia": ({}, ["--hook", "runtime=bin/server.jl"], {},
                              "--hook.runtime: 'bin/server.jl': runtime hooks run before Julia is copied into the runtime stage; use an executable script"),
    "runtime path relative": ({}, ["--runtime-path", "opt/conda"], {},
                              "--runtime-path: 'opt/conda' is not an absolute path in the image (letters, digits and . _ + @ = -, no '..')"),
    "runtime path root": ({}, ["--runtime-path", "/"], {}, "--runtime-path: '/' is the whole file system; name a directory"),
    "writable path escapes": ({}, ["--writable-path", "log/../../etc"], {}, "--writable-path: 'log/../../etc' escapes the project ('..')"),
    "writable path is the depot": ({}, ["--writable-path", "/opt/julia/depot/compiled"], {},
                                   "writable_paths: '/opt/julia/depot/compiled' overlaps /opt/julia/depot, the baked depot"),
    "writable path is the project": ({}, ["--writable-path", "."], {},
                                     "writable_paths: '.' is the whole project, which stays read-only; name its subdirectories"),
    "two entry points": ({}, ["--julia-module", "GreetService"], {}, "script and julia_module both set: the container runs one of them"),
    "julia module before 1.12": ({"sysimage-docker.toml": 'julia_module = "GreetService"\n',
                                  "Manifest.toml": (SERVICE / "Manifest.toml").read_text().replace('julia_version = "1.11.5"', 'julia_version = "1.10.4"')}, [], {},
                                 "julia_module needs Julia 1.12 or newer (`julia -m`); this image gets Julia 1.10.4"),
    # 1.11 has @main but not -m/--module (HISTORY.md 1.12, #52103): the image would fail at every start
    "julia module on 1.11": ({"sysimage-docker.toml": 'julia_module = "GreetService"\n'}, [], {},
                             "julia_module needs Julia 1.12 or newer (`julia -m`); this image gets Julia 1.11.5"),
    "julia module flag on 1.11": ({"sysimage-docker.toml": ""}, ["--julia-module", "GreetService"], {},
                                  "julia_module needs Julia 1.12 or newer (`julia -m`); this image gets Julia 1.11.5"),
    "julia module env on 1.11": ({"sysimage-docker.toml": ""}, [], {"SYSIMAGE_DOCKER_JULIA_MODULE": "GreetService"},
                                 "julia_module needs Julia 1.12 or newer (`julia -m`); this image gets Julia 1.11.5"),
    "julia module unknown": ({"sysimage-docker.toml": 'julia_module = "Plots"\n',
                              "Manifest.toml": (SERVICE / "Manifest.toml").read_text().replace('julia_version = "1.11.5"', 'julia_version = "1.12.7"')}, [], {},
                             "julia_module: Plots is neither the project's package nor a dependency in Project.toml"),
    "command in app mode": ({"sysimage-docker.toml": 'command = ["-e", "1"]\n'}, ["--mode", "app"], {},
                            "mode = app runs the package's julia_main(); leave command out"),
    "build env secret": ({}, ["--build-env", "GITHUB_TOKEN=ghp_x"], {},
                         "--build-env: GITHUB_TOKEN looks like a secret, and build_env is stored in the builder stages (pushed with cache_repo): pass secrets with private_git or a BuildKit --secret"),
    "build env reserved": ({}, ["--build-env", "JULIA_DEPOT_PATH=/tmp"], {},
                           "--build-env: JULIA_DEPOT_PATH is managed by the builder and cannot be set here"),
    "timezone injection": ({}, ["--timezone", "UTC; reboot"], {},
                           "--timezone: 'UTC; reboot' is not a time zone name such as Europe/Berlin or UTC"),
    "locale not built in": ({}, ["--locale", "de_DE.UTF-8"], {},
                            "--locale: 'de_DE.UTF-8': only the locales every glibc image has can be set here (C.UTF-8, C.utf8, C, POSIX); install and generate others in a runtime hook"),
    "project license not spdx": ({"Project.toml": 'name = "X"\nuuid = "5f0c8e7a-3d0b-4c51-9a44-2c6f1f0e8b1d"\nlicense = "MIT\\"; rm -rf /"\n'}, [], {},
                                 "Project.toml: license 'MIT\"; rm -rf /' is not an SPDX license expression"),
    "warmup path not absolute": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nports = [8080]\nwarmup = [{ path = "health" }]\n'}, [], {},
                                 "sysimage-docker.toml:3:1: warmup[0].path: 'health' is not an absolute URL path such as /health"),
    "user id as a boolean": ({"sysimage-docker.toml": "user_id = true\n"}, [], {},
                             "sysimage-docker.toml:1:1: user_id: expected a whole number, got boolean"),
    "user id over the range": ({}, ["--user-id", "2147483647"], {}, "--user-id: 2147483647 is not a non-root uid (1 to 2147483646)"),
    "extra files in app mode": ({"sysimage-docker.toml": 'extra_files = ["../x"]\n'}, ["--mode", "app"], {},
                                "extra_files: mode = app images have no project tree; the bundle holds only the app"),
    "relative writable path in app mode": ({"sysimage-docker.toml": 'writable_paths = ["log"]\n'}, ["--mode", "app"], {},
                                           "writable_paths: 'log': mode = app images have no project tree; give an absolute path"),
    # the seed-2029 mutation run's survivors in project.py: these refusals had no test
    "project deps not a table": ({"Project.toml": "deps = 1\n"}, [], {},
                                 'Project.toml: [deps] must be a table of package = "uuid"'),
    "project compat not a table": ({"Project.toml": "compat = 1\n"}, [], {},
                                   'Project.toml: [compat] must be a table of name = "string"'),
    "project compat value not a string": ({"Project.toml": "[compat]\njulia = 1\n"}, [], {},
                                          'Project.toml: [compat] must be a table of name = "string"'),
    "workspace member without a project file": ({"Project.toml": '[workspace]\nprojects = ["src"]\n'}, [], {},
                                                "Project.toml: [workspace] project 'src' has no Project.toml"),
    # TOML 1.1 that rtoml accepts and Julia's TOML 1.0 parser (and tomllib, which then decides) refuses
    "project with a TOML 1.1 escape": ({"Project.toml": 'name = "X\\e"\n'}, [], {},
                                       "Project.toml:1:12: invalid TOML: Unescaped '\\' in a string"),
    "manifest with a multi-line inline table": ({"Manifest.toml": SERVICE_MANIFEST + '\n[[deps.X]]\nuuid = "00000000-0000-4000-8000-000000000001"\nextra = {a = 1,\n b = 2}\n'}, [], {},
                                                f"Manifest.toml:{len(SERVICE_MANIFEST.splitlines()) + 4}:16: invalid TOML: Invalid initial character for a key part"),
    "config time without seconds": ({"sysimage-docker.toml": "x = 12:30\n"}, [], {},
                                    "sysimage-docker.toml:1:7: invalid TOML: Expected newline or end of document after a statement"),
    "manifest dependency listed as a table": ({"Manifest.toml": SERVICE_MANIFEST + '\n[[deps.X]]\ndeps = [{a = 1}]\nuuid = "00000000-0000-4000-8000-000000000001"\n'}, [], {},
                                              "Manifest.toml: X lists its dependency {{'a': 1}} by name, but the manifest has no entry of that name: Pkg refuses it as ambiguous; re-resolve the manifest"),
    "entryfile path too long": ({"Project.toml": 'entryfile = "' + "/".join(["d" * 200] * 5) + "/" + "x" * 17 + '.jl"\n'}, [], {},
                                "Project.toml: entryfile is longer than a file name may be (1025 characters)"),
    "project license long and not spdx": ({"Project.toml": f'license = "{"M" * 90};"\n'}, [], {},
                                          "Project.toml: license '" + "M" * 80 + "' is not an SPDX license expression"),
    "project uuid not a uuid": ({"Project.toml": 'name = "X"\nuuid = "nope"\n'}, [], {}, "Project.toml: uuid 'nope' is not a UUID"),
    # Project.toml entryfile: a stub is written there in the builder, so it must name a file inside the project
    "entryfile outside the project": ({"Project.toml": 'entryfile = "../../etc/passwd"\n'}, [], {},
                                      "Project.toml: entryfile '../../etc/passwd' must be a file inside the project"),
    "entryfile absolute": ({"Project.toml": 'entryfile = "/etc/profile.d/x.sh"\n'}, [], {},
                           "Project.toml: entryfile '/etc/profile.d/x.sh' must be a file inside the project"),
    "entryfile in home": ({"Project.toml": 'entryfile = "~/x.jl"\n'}, [], {},
                          "Project.toml: entryfile '~/x.jl' must be a file inside the project"),
    "entryfile with a newline": ({"Project.toml": 'entryfile = "src/x.jl\\nRUN touch /pwned"\n'}, [], {},
                                 "Project.toml: entryfile 'src/x.jl\\nRUN touch /pwned' must be a file inside the project"),
    "entryfile with a backslash": ({"Project.toml": 'entryfile = "src\\\\..\\\\..\\\\x.jl"\n'}, [], {},
                                   "Project.toml: entryfile 'src\\\\..\\\\..\\\\x.jl' must be a file inside the project"),
    "entryfile a directory": ({"Project.toml": 'entryfile = "src/"\n'}, [], {},
                              "Project.toml: entryfile 'src/' must be a file inside the project"),
    "entryfile the project itself": ({"Project.toml": 'entryfile = "."\n'}, [], {},
                                     "Project.toml: entryfile '.' must be a file inside the project"),
    "entryfile not a string": ({"Project.toml": "entryfile = 1\n"}, [], {}, "Project.toml: entryfile must be a string, got int"),
    "entryfile with a line separator": ({"Project.toml": 'entryfile = "src/a\\u2028b.jl"\n'}, [], {},
                                        "Project.toml: entryfile 'src/a\\u2028b.jl' must be a file inside the project"),
    "entryfile with a right-to-left override": ({"Project.toml": 'entryfile = "src/\\u202eli.jl"\n'}, [], {},
                                                "Project.toml: entryfile 'src/\\u202eli.jl' must be a file inside the project"),
    "entryfile name too long": ({"Project.toml": f'entryfile = "src/{"x" * 300}.jl"\n'}, [], {},
                                "Project.toml: entryfile is longer than a file name may be (307 characters)"),
    "project path outside": ({"Project.toml": 'path = "../x.jl"\n'}, [], {},
                             "Project.toml: path '../x.jl' must be a file inside the project"),
    "dep name not a package name": ({"Project.toml": '[deps]\n"my pkg" = "cd3eb016-35fb-5094-929b-558a96fad6f3"\n'}, [], {},
                                    "Project.toml: [deps] 'my pkg' is not a valid Julia package name"),
    # issue 19 points 4 and 8: one rule for directories the runtime user may own or Julia is read from
    "writable path /etc": ({"sysimage-docker.toml": 'writable_paths = ["/etc"]\n'}, [], {},
                           "sysimage-docker.toml:1:1: writable_paths: '/etc' is the system directory /etc; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path /sbin": ({}, ["--writable-path", "/sbin"], {}, "--writable-path: '/sbin' is the system directory /sbin; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path under /etc": ({}, ["--writable-path", "/etc/app"], {},
                                 "--writable-path: '/etc/app' is inside the system directory /etc; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "volume /tmp": ({}, ["--volume", "/tmp"], {}, "--volume: '/tmp' is a system directory; name a directory inside it, such as /tmp/myapp"),
    "volume /proc": ({"sysimage-docker.toml": 'volumes = ["/proc/self"]\n'}, [], {},
                     "sysimage-docker.toml:1:1: volumes: '/proc/self' is inside the system directory /proc; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "volume /sys": ({}, ["--volume", "/sys"], {}, "--volume: '/sys' is the system directory /sys; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "volume /dev": ({}, ["--volume", "/dev/shm"], {}, "--volume: '/dev/shm' is inside the system directory /dev; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path /run": ({}, ["--writable-path", "/run"], {}, "--writable-path: '/run' is the system directory /run; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path /home": ({}, ["--writable-path", "/home"], {}, "--writable-path: '/home' is the system directory /home; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path another home": ({}, ["--writable-path", "/home/other/data"], {},
                                   "--writable-path: '/home/other/data' is inside the system directory /home; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path root's home": ({}, ["--writable-path", "/root/.ssh"], {},
                                  "--writable-path: '/root/.ssh' is inside the system directory /root; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path /var": ({}, [], {"SYSIMAGE_DOCKER_WRITABLE_PATHS": "/var"},
                           "SYSIMAGE_DOCKER_WRITABLE_PATHS: '/var' is a system directory; name a directory inside it, such as /var/myapp"),
    "writable path /var/lib/dpkg": ({}, ["--writable-path", "/var/lib/dpkg"], {},
                                    "--writable-path: '/var/lib/dpkg' is the system directory /var/lib/dpkg; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path /usr/local/bin": ({}, ["--writable-path", "/usr/local/bin"], {},
                                     "--writable-path: '/usr/local/bin' is the system directory /usr/local/bin; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path /usr/lib": ({}, ["--writable-path", "/usr/lib/x"], {},
                               "--writable-path: '/usr/lib/x' is inside the system directory /usr; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "writable path not normalized": ({}, ["--writable-path", "/./etc"], {},
                                     "--writable-path: '/./etc' is not a normalized path (no '.' or '//')"),
    "writable path dotdot": ({}, ["--writable-path", "/data/../etc"], {},
                             "--writable-path: '/data/../etc' is not an absolute path in the image (letters, digits and . _ + @ = -, no '..')"),
    "julia path root": ({}, ["--julia-path", "/"], {}, "--julia-path: '/' is the whole file system; name a directory"),
    "julia path dotdot": ({}, ["--julia-path", "/usr/../etc"], {},
                          "--julia-path: '/usr/../etc' is not an absolute path in the image (letters, digits and . _ + @ = -, no '..')"),
    "julia path in /etc": ({"sysimage-docker.toml": 'julia_path = "/etc/julia"\n'}, [], {},
                           "sysimage-docker.toml:1:1: julia_path: '/etc/julia' is inside the system directory /etc; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    "julia path /usr/bin": ({}, [], {"SYSIMAGE_DOCKER_JULIA_PATH": "/usr/bin"},
                            "SYSIMAGE_DOCKER_JULIA_PATH: '/usr/bin' is inside the system directory /usr; use a directory of the app's own (/app/..., /var/lib/myapp, /opt/myapp, /srv/myapp)"),
    # issue 19 point 6: build_env values that look like credentials, names case-insensitively
    "build env GitHub token value": ({"sysimage-docker.toml": '[build_env]\nDEPLOY = "ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"\n'}, [], {},
                                     "sysimage-docker.toml:1:1: build_env.DEPLOY: the value looks like a GitHub token, and build_env is stored in the builder stages (pushed with cache_repo): pass credentials as a BuildKit secret (--secret, private_git)"),
    "build env AWS key id": ({}, ["--build-env", "AWS_ID=AKIAIOSFODNN7EXAMPLE"], {},
                             "--build-env.AWS_ID: the value looks like an AWS access key id, and build_env is stored in the builder stages (pushed with cache_repo): pass credentials as a BuildKit secret (--secret, private_git)"),
    "build env PEM block": ({"sysimage-docker.toml": '[build_env]\nCERT = "-----BEGIN RSA PRIVATE KEY----- MIIE"\n'}, [], {},
                            "sysimage-docker.toml:1:1: build_env.CERT: the value looks like a PEM block, and build_env is stored in the builder stages (pushed with cache_repo): pass credentials as a BuildKit secret (--secret, private_git)"),
    "build env JWT": ({}, ["--build-env", "BEARER=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"], {},
                      "--build-env.BEARER: the value looks like a JSON Web Token, and build_env is stored in the builder stages (pushed with cache_repo): pass credentials as a BuildKit secret (--secret, private_git)"),
    "build env random string": ({}, ["--build-env", "X=Zq8Lm2Rt6Vw0Yb4Nc7Hd1Jf5Kg9Ps3Ue"], {},
                                "--build-env.X: the value looks like a long random string, and build_env is stored in the builder stages (pushed with cache_repo): pass credentials as a BuildKit secret (--secret, private_git)"),
    "build env URL with a password": ({}, ["--build-env", "JULIA_PKG_SERVER=https://ci:hunter2@pkg.example.com"], {},
                                      "--build-env.JULIA_PKG_SERVER: the value looks like a URL with credentials, and build_env is stored in the builder stages (pushed with cache_repo): pass credentials as a BuildKit secret (--secret, private_git)"),
    "env value GitHub token": ({"sysimage-docker.toml": '[env]\nGH = "github_pat_11AAAAAAA0aB3dE5gH7jK9mN1pQ3sT5v"\n'}, [], {},
                               "sysimage-docker.toml:1:1: env.GH: the value looks like a GitHub token, and env values are stored in the image's configuration for anyone who pulls it: give credentials to the container when it runs (docker run -e, an orchestrator's secret)"),
    "label value AWS key id": ({}, ["--label", "org.example.key=AKIAIOSFODNN7EXAMPLE"], {},
                               "--label.org.example.key: the value looks like an AWS access key id, and labels are stored in the image's configuration for anyone who pulls it: give credentials to the container when it runs (docker run -e, an orchestrator's secret)"),
    "build env secret name lower case": ({"sysimage-docker.toml": '[build_env]\nmy_auth = "x"\n'}, [], {},
                                         "sysimage-docker.toml:1:1: build_env: my_auth looks like a secret, and build_env is stored in the builder stages (pushed with cache_repo): pass secrets with private_git or a BuildKit --secret"),
    # issue 19 points 9 and 10: nesting and size limits on every TOML input, --config included
    "config nested 1000 deep": ({"sysimage-docker.toml": "ports = " + "[" * 1000 + "]" * 1000 + "\n"}, [], {},
                                "sysimage-docker.toml: nested more than 80 levels deep (arrays, inline tables or dotted keys)"),
    "project nested 1000 deep": ({"Project.toml": HELLO_PROJECT + "[" + ".".join(["a"] * 1000) + "]\n"}, [], {},
                                 "Project.toml: nested more than 80 levels deep (arrays, inline tables or dotted keys)"),
    "manifest nested 1000 deep": ({"Manifest.toml": (EXAMPLES / "http-service" / "Manifest.toml").read_text() + "\nx = " + "{y = " * 1000 + "1" + "}" * 1000 + "\n"}, [], {},
                                  "Manifest.toml: nested more than 80 levels deep (arrays, inline tables or dotted keys)"),
    "config is /dev/zero": ({}, ["--config", "/dev/zero"], {}, "/dev/zero: more than 1048576 bytes, over the limit"),
    "manifest key with NUL": ({"Project.toml": 'manifest = "a\\u0000b"\n' + HELLO_PROJECT}, [], {},
                              "Project.toml: manifest 'a\\x00b' is not a usable path"),
    "manifest key outside the project": ({"Project.toml": 'manifest = "../Other.toml"\n' + HELLO_PROJECT}, [], {},
                                         "Project.toml: manifest '../Other.toml' must be a file inside the project"),
    "workspace member outside": ({"Project.toml": HELLO_PROJECT + '\n[workspace]\nprojects = ["../other"]\n'}, [], {},
                                 "Project.toml: [workspace] project '../other' lies outside the project"),
    "targets not lists": ({"Project.toml": HELLO_PROJECT + '\n[targets]\ntest = "Test"\n'}, [], {},
                          "Project.toml: [targets] must map target names to lists of package names"),
    "apt.txt name too long": ({"apt.txt": "a" * 201 + "\n"}, [], {},
                              "apt.txt:1: '" + "a" * 80 + "' is not a system package name (letters, digits and . + _ -, optionally =VERSION)"),
    "absolute path dependency": ({"Manifest.toml": (SERVICE / "Manifest.toml").read_text() + '\n[[deps.Host]]\npath = "/etc"\nuuid = "00000000-0000-4000-8000-000000000001"\n'}, [], {},
                                 "Manifest.toml: path dependency Host at '/etc' lies outside the project ({p}); refusing "
                                 "to read it (a wider root needs --context-root or SYSIMAGE_DOCKER_CONTEXT_ROOT)"),
    "relative path dependency above the project": (
        {"Manifest.toml": (SERVICE / "Manifest.toml").read_text() + '\n[[deps.Up]]\npath = "lib/../../../x"\nuuid = "00000000-0000-4000-8000-000000000001"\n'}, [], {},
        "Manifest.toml: path dependency Up at 'lib/../../../x' lies outside the project ({p}); refusing to read it (a "
        "wider root needs --context-root or SYSIMAGE_DOCKER_CONTEXT_ROOT)"),
    "context_root / from the command line with /etc/shadow": (
        {}, ["--context-root", TO_ROOT, "--extra-file", TO_ROOT + "/etc/shadow"], {},
        f"context_root: '{TO_ROOT}' reaches /: the whole file system is never a build context root"),
    "context_root / from the environment": (
        {}, [], {"SYSIMAGE_DOCKER_CONTEXT_ROOT": TO_ROOT + "/"},
        f"context_root: '{TO_ROOT}/' reaches /: the whole file system is never a build context root"),
    "context exclude escapes": ({"sysimage-docker.toml": 'context_exclude = ["../x"]\n'}, [], {},
                                "sysimage-docker.toml:1:1: context_exclude: '../x' must be a pattern relative to the project"),
    "env TZ and timezone": ({}, ["--env", "TZ=UTC", "--timezone", "Europe/Berlin"], {},
                            "env.TZ and timezone both set: the image would get env's TZ; set one of them (timezone also installs tzdata)"),
    "env LANG and locale": ({"sysimage-docker.toml": 'locale = "C.UTF-8"\nenv = { LANG = "en_US.UTF-8" }\n'}, [], {},
                            "env.LANG and locale both set: the image would get env's LANG; set one of them"),
    "timezone not in the database": ({}, ["--timezone", "America/Chicgo"], {},
                                     "--timezone: 'America/Chicgo' is not in the IANA time zone database; did you mean 'America/Chicago'?"),
    "healthcheck interval zero": ({}, ["--healthcheck-interval", "0"], {},
                                  "--healthcheck-interval: 0 is not an interval in seconds (1 to 86400)"),
    "healthcheck interval without a path": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nports = [8080]\n'}, ["--healthcheck-interval", "5"], {},
                                            "healthcheck_interval needs healthcheck_path (the probe it times)"),
    "build load path": ({}, ["--build-env", "JULIA_LOAD_PATH=@:@shared"], {},
                        "--build-env: JULIA_LOAD_PATH is managed by the builder (its steps load the app environment): a hook can set its own (withenv), and depot_dirs = [\"environments\"] ships a shared environment a hook made"),
    "julia older than 1.6": ({}, ["--julia-version", "1.5.3"], {},
                             "julia_version 1.5.3 is not supported: PackageCompiler needs Julia 1.6 or newer"),
    "hook input absolute": ({}, ["--hook", "after_instantiate=bin/server.jl", "--hook-input", "/etc/passwd"], {},
                            "--hook-input: '/etc/passwd' must be a path or glob inside the project"),
    "hook input escapes": ({}, ["--hook", "after_instantiate=bin/server.jl", "--hook-input", "../secrets.txt"], {},
                           "--hook-input: '../secrets.txt' must be a path or glob inside the project"),
    "hook input glob escapes": ({}, ["--hook", "after_instantiate=bin/server.jl", "--hook-input", "src/**/../../*"], {},
                                "--hook-input: 'src/**/../../*' must be a path or glob inside the project"),
    "hook input injection": ({}, ["--hook", "after_instantiate=bin/server.jl", "--hook-input", "req$(reboot).txt"], {},
                             "--hook-input: 'req$(reboot).txt' has characters that cannot be placed safely in a Dockerfile (allowed: letters, digits, space, . _ + @ = , - / and the globs * ? [ ])"),
    "hook input excluded secret": ({".env": "API_TOKEN=x\n"}, ["--hook", "after_instantiate=bin/server.jl", "--hook-input", ".env"], {},
                                   "hook_inputs: .env: not in the build context (no such project file, or the default exclusions, .dockerignore or context_exclude leave it out)"),
    "hook input glob of secrets": ({".env.local": "API_TOKEN=x\n", "id_rsa": "key\n"}, ["--hook", "after_instantiate=bin/server.jl", "--hook-input", ".env*"], {},
                                   "hook_inputs: .env*: matches no file in the build context"),
    "hook input missing": ({}, ["--hook", "after_instantiate=bin/server.jl", "--hook-input", "requirements.txt"], {},
                           "hook_inputs: requirements.txt: not in the build context (no such project file, or the default exclusions, .dockerignore or context_exclude leave it out)"),
    "hook input without a hook": ({}, ["--hook-input", "Project.toml"], {},
                                  "hook_inputs: no after_instantiate or runtime hook reads them (after_source hooks see the whole project)"),
    "depot dir registries": ({}, ["--depot-dir", "registries"], {},
                             "--depot-dir: registries never ships: the runtime image has no registries (Pkg does not run there)"),
    "depot dir logs": ({}, ["--depot-dir", "logs/manifest_usage.toml"], {},
                       "--depot-dir: logs never ships: Pkg's logs of the build are not the app's"),
    "depot dir scratchspaces": ({"sysimage-docker.toml": 'depot_dirs = ["scratchspaces"]\n'}, [], {},
                                "sysimage-docker.toml:1:1: depot_dirs: scratchspaces never ships: scratch spaces belong to the runtime user's depot, where the app can write them"),
    "depot dir always shipped": ({}, ["--depot-dir", "compiled"], {},
                                 "--depot-dir: compiled always ships; name only the other depot directories"),
    "depot dir escapes": ({}, ["--depot-dir", "conda/../../etc"], {},
                          "--depot-dir: 'conda/../../etc' is not a directory of the depot such as conda or datadeps (letters, digits, . _ - and /)"),
    "depot dir absolute": ({}, ["--depot-dir", "/etc"], {},
                           "--depot-dir: '/etc' is not a directory of the depot such as conda or datadeps (letters, digits, . _ - and /)"),
    "depot dirs in app mode": ({"sysimage-docker.toml": 'depot_dirs = ["conda"]\n'}, ["--mode", "app"], {},
                               "depot_dirs: mode = app images have no depot (the bundle holds what the app needs)"),
    "runtime path in the depot": ({}, ["--runtime-path", "/opt/julia/depot/conda/3"], {},
                                  "runtime_paths: '/opt/julia/depot/conda/3' is in the baked depot: ship depot directories with depot_dirs (depot_dirs = [\"conda\"])"),
    "healthcheck in app mode": ({"sysimage-docker.toml": 'ports = [8080]\nhealthcheck_path = "/health"\n'}, ["--mode", "app"], {},
                                "healthcheck_path probes with julia, which mode = app images do not have; use the orchestrator's HTTP probe instead"),
    "julia_main without a package": ({"Project.toml": (SERVICE / "Project.toml").read_text().replace('uuid = "5f0c8e7a-3d0b-4c51-9a44-2c6f1f0e8b1d"\n', ""),
                                      "sysimage-docker.toml": "julia_main = true\n"}, [], {},
                                     "julia_main needs a package project (name and uuid in Project.toml)"),
    "manifest julia_version not a string": ({"Manifest.toml": (SERVICE / "Manifest.toml").read_text().replace('julia_version = "1.11.5"', "julia_version = 1.11")}, [], {},
                                            "Manifest.toml: julia_version must be a string"),
    "warmup entry not a table": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nports = [8080]\nwarmup = ["/health"]\n'}, [], {},
                                 "sysimage-docker.toml:3:1: warmup[0]: expected a table with path (and method, body, status)"),
    "cache repo with a digest": ({"sysimage-docker.toml": f'cache_repo = "reg.example/cache@sha256:{"a" * 64}"\n'}, [], {},
                                 f"sysimage-docker.toml:1:1: cache_repo: 'reg.example/cache@sha256:{'a' * 64}' names a digest; a tag is NAME[:TAG], e.g. registry.example.com:5000/team/app:1.0"),
    "hook files not an array": ({"sysimage-docker.toml": '[hooks]\nafter_source = "deploy.sh"\n'}, [], {},
                                "sysimage-docker.toml:1:1: hooks.after_source: expected an array of file names"),
    "warmup body not a string": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nports = [8080]\nwarmup = [{ path = "/", body = 1 }]\n'}, [], {},
                                 "sysimage-docker.toml:3:1: warmup[0].body: expected a string (at most 64 KiB, no NUL)"),
    "warmup body with NUL": ({"sysimage-docker.toml": 'script = "bin/server.jl"\nports = [8080]\nwarmup = [{ path = "/", body = "a\\u0000b" }]\n'}, [], {},
                             "sysimage-docker.toml:3:1: warmup[0].body: expected a string (at most 64 KiB, no NUL)"),
    "three entry points": ({}, ["--julia-main", "--julia-module", "GreetService"], {}, "script and julia_main both set: the container runs one of them"),
    "timezone over 100 characters": ({}, ["--timezone", "Europe/" + "B" * 94], {},
                                     f"--timezone: 'Europe/{'B' * 94}' is not a time zone name such as Europe/Berlin or UTC"),
    "manifest dep by name without an entry": ({"Manifest.toml": (EXAMPLES / "http-service" / "Manifest.toml").read_text() + '\n[[deps.UsesGhost]]\ndeps = ["Ghost"]\nuuid = "00000000-0000-4000-8000-000000000003"\n'}, [], {},
                                              "Manifest.toml: UsesGhost lists its dependency 'Ghost' by name, but the manifest has no entry of that name: Pkg refuses it as ambiguous; re-resolve the manifest"),
    "build env secret in lower case": ({}, ["--build-env", "github_token=ghp_x"], {},
                                       "--build-env: github_token looks like a secret, and build_env is stored in the builder stages (pushed with cache_repo): pass secrets with private_git or a BuildKit --secret"),
}


def make_project(tmp_path: Path, files: dict[str, str | bytes | None]) -> Path:
    project = tmp_path / "proj"
    shutil.copytree(SERVICE, project)
    for rel, content in files.items():
        path = project / rel
        if content is None:
            path.unlink()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return project


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case: str, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, args, env, expected = CASES[case]
    project = make_project(tmp_path, files)
    out = tmp_path / "out"
    monkeypatch.chdir(project)  # relative --config paths resolve from here
    result = cli("generate", project, "-o", out, *args, env=env)
    message = expected.format(p=project, name=project.name)
    assert (result.code, result.err) == (2, f"sysimage-docker: error: {message}\n")
    assert result.out == ""
    assert not out.exists()
    assert not list(tmp_path.glob(".sysimage-docker-*"))
    # the same verdict from generate to stdout and from build (refused before any engine is asked)
    for command in (("generate", project), ("build", project)):
        again = cli(*command, *args, env=env)
        assert (again.code, again.err, again.out) == (2, result.err, ""), command


def test_catalogue_is_large() -> None:
    assert len(CASES) >= 90  # one case per refusal rule, at least


def test_unreadable_file(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI runs as root, where mode 000 does not stop a read: make the read itself fail as it would for a user
    project = make_project(tmp_path, {})
    real = Path.open

    def denied(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self.name == "Manifest.toml" and mode == "rb":
            raise PermissionError(13, "Permission denied")
        return real(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    result = cli("generate", project)
    assert (result.code, result.err) == (2, "sysimage-docker: error: Manifest.toml: permission denied\n")


def test_manifest_that_is_a_directory(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {"Manifest.toml": None})
    (project / "Manifest.toml").mkdir()
    result = cli("generate", project)
    assert (result.code, result.err) == (2, "sysimage-docker: error: proj: no Manifest.toml: commit one (julia "
                                            "--project -e 'using Pkg; Pkg.resolve()') or set resolve = true to "
                                            "resolve in the builder\n")


def test_symlink_out_of_the_project_is_refused(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    (tmp_path / "secret.txt").write_text("s3cret")
    (project / "data.txt").symlink_to(tmp_path / "secret.txt")
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 2
    assert result.err == (f"sysimage-docker: error: {project / 'data.txt'}: symlink points outside the project "
                          f"({tmp_path / 'secret.txt'}); refusing to copy it\n")
    assert not out.exists() and not list(tmp_path.glob(".sysimage-docker-*"))


def test_output_dir_that_is_not_ours_is_not_overwritten(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    result = cli("generate", SERVICE, "-o", out)
    assert result.code == 2
    assert "exists and is not empty (and not an earlier sysimage-docker output)" in result.err
    assert (out / "precious.txt").read_text() == "keep"


def test_a_directory_name_that_cannot_be_a_label(cli, tmp_path: Path) -> None:
    # a plain environment's title comes from its directory name; the template guard refuses a newline in it
    project = tmp_path / "evil\nLABEL x=y"
    shutil.copytree(EXAMPLES / "hello", project)
    result = cli("generate", project)
    assert result.code == 2
    assert result.err.startswith("sysimage-docker: error: a value cannot be placed safely in a Dockerfile: ")
    assert result.err.count("\n") == 1


def test_a_100k_entry_manifest_works(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    extra = "".join(f'[[deps.Pkg{i}]]\nuuid = "00000000-0000-4000-8000-{i:012d}"\nversion = "1.0.{i}"\n\n'
                    for i in range(100_000))
    with (project / "Manifest.toml").open("a") as fh:
        fh.write("\n" + extra)
    result = cli("generate", project)
    assert result.code == 0, result.err
    assert 'dev.sysimage-docker.packages="HTTP@1.10.16 JSON3@1.14.2"' in result.out


def test_a_10_mb_project_file_is_refused_in_one_line(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    with (project / "Project.toml").open("a") as fh:
        fh.write("# padding\n" * 1_000_000)
    result = cli("generate", project)
    assert (result.code, result.err) == (
        2, f"sysimage-docker: error: Project.toml: file is {(project / 'Project.toml').stat().st_size} bytes, "
           "over the 1048576 byte limit\n")
