"""The options that let real projects switch (system packages, build_env, hooks, runtime and writable paths,
time zone, entry points) on a real engine. The base images are busybox with a stand-in apt-get that records what
it installs (tests/standin/apt-get); the stand-in julia records its calls (argv, cwd, environment) and implements
no Julia semantics, so these tests show what reaches each step and the image, not what Julia would do there."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from dockerenv import ensure_image

pytestmark = pytest.mark.docker

HOOKS = {
    # an executable hook after instantiate: writes outside the project and the depot (runtime_paths brings it over)
    "deploy/fetch_model.sh": "#!/bin/sh\nset -e\nmkdir -p /opt/models\n"
                             "echo \"model built with PYTHON=$PYTHON at $(pwd), hook $SYSIMAGE_DOCKER_HOOK\" "
                             "> /opt/models/model.txt\n",
    # a Julia hook after instantiate (the stand-in records its call)
    "deploy/build.jl": "import Pkg; Pkg.build(\"HTTP\")\n",
    # after the source: generated assets inside the project, made when the sysimage already exists
    "deploy/assets.sh": "#!/bin/sh\nset -e\nmkdir -p public\n"
                        "[ -f /opt/sysimage-docker/build/sys.so ] && echo 'body{}' > public/style.css\n",
    # in the runtime stage, as root
    "deploy/runtime.sh": "#!/bin/sh\nset -e\necho \"configured by $(id -u)\" > /etc/app-setup\n",
}
CONFIG = """
system_packages = ["python3"]
builder_packages = ["git-lfs"]
build_env = { PYTHON = "python3", JULIA_PKG_SERVER = "https://pkg.example.com" }
runtime_paths = ["/opt/models"]
writable_paths = ["log"]
volumes = ["/data"]
timezone = "Europe/Berlin"
locale = "C.UTF-8"

[hooks]
after_instantiate = ["deploy/fetch_model.sh", "deploy/build.jl"]
after_source = ["deploy/assets.sh"]
runtime = ["deploy/runtime.sh"]
"""


@pytest.fixture(scope="module")
def apt_env(docker_env) -> dict[str, str]:
    return {"SYSIMAGE_DOCKER_BUILDER_IMAGE": ensure_image(docker_env.client, "builder-apt"),
            "SYSIMAGE_DOCKER_RUNTIME_IMAGE": ensure_image(docker_env.client, "runtime-apt")}


def migrated_project(root: Path) -> Path:
    """http-service, configured the way its hand-written Dockerfile would have set it up."""
    for name, text in HOOKS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)
    (root / "log").mkdir()
    (root / "log" / "README").write_text("request logs\n")
    config = root / "sysimage-docker.toml"
    # the labels table ends the example's file: the new keys go before it
    head, labels = config.read_text().split("[labels]")
    config.write_text(head + CONFIG + "\n[labels]" + labels)
    return root


@pytest.fixture(scope="module")
def migrated(docker_env, apt_env, tmp_path_factory) -> tuple[Path, str, subprocess.CompletedProcess[str]]:
    import shutil

    from conftest import EXAMPLES

    project = tmp_path_factory.mktemp("migrated") / "http-service"
    shutil.copytree(EXAMPLES / "http-service", project)
    migrated_project(project)
    tag = docker_env.unique_tag("migrated")
    result = docker_env.build(project, "-t", tag, **apt_env)
    assert result.returncode == 0, result.stderr
    return project, tag, result


def test_system_packages_reach_their_stages(docker_env, apt_env, migrated) -> None:
    project, tag, _ = migrated
    sh = docker_env.sh
    # runtime: system_packages and the timezone's tzdata; not the builder-only package; no apt lists left
    assert sh(tag, "ls /usr/share/doc").split() == ["python3", "tzdata"]
    installed = sh(tag, "cat /var/log/apt-standin.log").strip()
    assert installed == "apt-get install -y --no-install-recommends python3 tzdata"
    assert sh(tag, "ls /var/lib/apt/lists 2>/dev/null").strip() == ""
    assert sh(tag, "ls /usr/share/zoneinfo/Europe").strip() == "Berlin"
    # builder: the builder-only package too (the stand-in's record is part of the builder image)
    builder = docker_env.unique_tag("migrated-builder")
    result = docker_env.build(project, "-t", builder, "--target", "builder", **apt_env)
    assert result.returncode == 0, result.stderr
    assert sh(builder, "ls /usr/share/doc").split() == ["git-lfs", "python3", "tzdata"]


def test_build_env_reaches_every_julia_step_and_not_the_runtime(docker_env, apt_env, migrated) -> None:
    project, tag, _ = migrated
    builder = docker_env.unique_tag("migrated-builder-env")
    assert docker_env.build(project, "-t", builder, "--target", "builder", **apt_env).returncode == 0
    calls = [c for c in docker_env.sh(builder, "cat /var/log/julia-standin/*").split("argv:") if c.strip()]
    assert len(calls) >= 4  # PackageCompiler install, instantiate, hook, sysimage, app precompile
    for call in calls:
        assert "PYTHON=python3" in call and "JULIA_PKG_SERVER=https://pkg.example.com" in call, call
    env = docker_env.docker("image", "inspect", "--format", "{{json .Config.Env}}", tag).stdout
    assert "PYTHON" not in env and "JULIA_PKG_SERVER" not in env
    assert '"TZ=Europe/Berlin"' in env and '"LANG=C.UTF-8"' in env and '"LC_ALL=C.UTF-8"' in env


def test_hooks_run_at_their_places(docker_env, apt_env, migrated) -> None:
    project, tag, _ = migrated
    sh = docker_env.sh
    builder = docker_env.unique_tag("migrated-builder-hooks")
    assert docker_env.build(project, "-t", builder, "--target", "builder", **apt_env).returncode == 0
    # the stand-in numbers its records in call order: the Julia hook ran after instantiate, before the sysimage
    order = sh(builder, "grep -l -e instantiate.jl -e deploy/build.jl -e build_sysimage.jl "
                        "/var/log/julia-standin/* | xargs grep -h -o -e instantiate.jl -e /app/deploy/build.jl "
                        "-e build_sysimage.jl | uniq").split()
    assert order == ["instantiate.jl", "/app/deploy/build.jl", "build_sysimage.jl"]
    hook_call = next(c for c in sh(builder, "cat /var/log/julia-standin/*").split("argv:") if "deploy/build.jl" in c)
    assert "--project=/app" in hook_call and "cwd: /app" in hook_call
    # the executable hook's output outside the project arrived through runtime_paths
    assert sh(tag, "cat /opt/models/model.txt").strip() == (
        "model built with PYTHON=python3 at /app, hook after_instantiate")
    # after_source ran once the sysimage existed, in the project; its output ships with the app
    assert sh(tag, "cat /app/public/style.css").strip() == "body{}"
    # the runtime hook ran as root in the runtime stage
    assert sh(tag, "cat /etc/app-setup").strip() == "configured by 0"


def test_writable_paths_and_volumes(docker_env, migrated) -> None:
    _, tag, _ = migrated
    probe = ("touch /app/log/new && touch /data/new && echo writable; "
             "touch /app/new 2>/dev/null && echo app-writable || echo app-read-only; "
             "cat /app/log/README; stat -c %u /app/log /app/log/README /data /app")
    result = docker_env.docker("run", "--rm", "--network", "none", "--user", "1000:1000", "--entrypoint", "/bin/sh",
                               tag, "-c", probe, check=False)
    assert result.stdout.split("\n") == ["writable", "app-read-only", "request logs", "1000", "1000", "1000", "0", ""]
    volumes = docker_env.docker("image", "inspect", "--format", "{{json .Config.Volumes}}", tag).stdout.strip()
    assert volumes == '{"/data":{}}'
    # the runtime user owns only its home and the writable paths (issue 19.11): the base image has no /home, which
    # a COPY --chown used to create owned by the user; group 0 with the user's permissions (issue 20.14)
    owners = docker_env.docker("run", "--rm", "--network", "none", "--user", "0:0", "--entrypoint", "/bin/sh", tag,
                               "-c", "stat -c '%n %u:%g %A' /home /home/julia /home/julia/.julia /app/log "
                               "/app/log/README /data /app", check=False).stdout
    assert owners.splitlines() == ["/home 0:0 drwxr-xr-x", "/home/julia 1000:0 drwxrwxr-x",
                                   "/home/julia/.julia 1000:0 drwxrwxr-x", "/app/log 1000:0 drwxrwxr-x",
                                   "/app/log/README 1000:0 -rw-rw-r--", "/data 1000:0 drwxrwxr-x",
                                   "/app 0:0 drwxr-xr-x"]
    # an arbitrary uid in group 0 (OpenShift, `docker run --user 4242:0`) writes where the runtime user does
    probe = ("for d in /home/julia/.julia /app/log /data; do touch $d/by-4242 && echo $d; done; "
             "touch /app/by-4242 2>/dev/null || echo app-read-only; touch /home/x 2>/dev/null || echo home-read-only")
    result = docker_env.docker("run", "--rm", "--network", "none", "--user", "4242:0", "--entrypoint", "/bin/sh", tag,
                               "-c", probe, check=False)
    assert result.stdout.split() == ["/home/julia/.julia", "/app/log", "/data", "app-read-only", "home-read-only"]
    # the configuration (build_env and all) stays out of the image
    assert docker_env.sh(tag, "ls /app/sysimage-docker.toml 2>/dev/null || echo absent").strip() == "absent"


def test_source_edit_leaves_hooks_packages_and_sysimage_cached(docker_env, apt_env, migrated) -> None:
    project, tag, _ = migrated
    with (project / "src" / "GreetService.jl").open("a") as fh:
        fh.write(f"# edited {uuid.uuid4()}\n")
    result = docker_env.build(project, "-t", tag, **apt_env)
    assert result.returncode == 0, result.stderr
    heavy = next(line for line in result.stderr.splitlines() if line.startswith("heavy steps: "))
    assert heavy.startswith("heavy steps: PackageCompiler install cached, instantiate cached, sysimage cached, "
                            "app precompile ran")
    hooks = next(line for line in result.stderr.splitlines() if line.startswith("hooks: "))
    assert hooks.startswith("hooks: after_instantiate /app/deploy/fetch_model.sh cached, after_instantiate "
                            "/app/deploy/build.jl cached, after_source /app/deploy/assets.sh ran ("), hooks
    assert hooks.endswith("runtime /opt/sysimage-docker/hooks/deploy/runtime.sh cached")


def test_a_failing_hook_stops_the_build_naming_it(docker_env, apt_env, example) -> None:
    project = example("hello")
    hook = project / "deploy" / "setup.sh"
    hook.parent.mkdir()
    hook.write_text("#!/bin/sh\necho 'fetching the model'\necho 'model server unreachable' >&2\nexit 3\n")
    hook.chmod(0o755)
    with (project / "sysimage-docker.toml").open("a") as fh:
        fh.write('\n[hooks]\nafter_instantiate = ["deploy/setup.sh"]\n')
    result = docker_env.build(project, "-t", docker_env.unique_tag("failing-hook"), **apt_env)
    assert result.returncode == 1, result.stderr
    assert "build failed at [deps] (hook after_instantiate /app/deploy/setup.sh) RUN" in result.stderr
    assert "model server unreachable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("setting", "cmd"), [
    ('command = ["-e", "using GreetService; GreetService.serve(8080)"]',
     '["-e","using GreetService; GreetService.serve(8080)"]'),
    ('julia_module = "GreetService"', '["-m","GreetService"]'),
])
def test_entry_points(docker_env, example, setting: str, cmd: str) -> None:
    project = example("http-service")
    config = project / "sysimage-docker.toml"
    config.write_text(config.read_text().replace('script = "bin/server.jl"', setting)
                      .replace('healthcheck_path = "/health"\n', ""))
    env = {}
    if setting.startswith("julia_module"):  # `julia -m` is a Julia 1.12 option: a 1.12 project and stand-in
        manifest = project / "Manifest.toml"
        manifest.write_text(manifest.read_text().replace('julia_version = "1.11.5"', 'julia_version = "1.12.7"'))
        env["SYSIMAGE_DOCKER_BUILDER_IMAGE"] = ensure_image(docker_env.client, "builder", julia_version="1.12.7")
    tag = docker_env.unique_tag("entry-point")
    result = docker_env.build(project, "-t", tag, **env)
    assert result.returncode == 0, result.stderr
    assert docker_env.docker("image", "inspect", "--format", "{{json .Config.Cmd}}", tag).stdout.strip() == cmd
    run = docker_env.run(tag)
    assert run.stdout.strip() == ("julia-standin argv: -J/usr/local/julia/lib/julia/sys.so --project=/app "
                                  "--startup-file=no --threads=auto " + " ".join(__import__("json").loads(cmd)))


def test_files_beside_the_project_through_context_root(docker_env, tmp_path: Path) -> None:
    import shutil

    from conftest import EXAMPLES

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "hello", repo / "deployment")
    (repo / ".git").mkdir()  # a project file's context_root stays inside the project's repository
    (repo / "notebooks").mkdir()
    (repo / "notebooks" / "report.ipynb").write_text("{}\n")
    (repo / "notebooks" / ".env").write_text("API_KEY=do-not-ship\n")
    (repo / "unrelated.txt").write_text("not named, not copied\n")
    with (repo / "deployment" / "sysimage-docker.toml").open("a") as fh:
        fh.write('context_root = ".."\nextra_files = ["../notebooks"]\n')
    tag = docker_env.unique_tag("context-root")
    result = docker_env.build(repo / "deployment", "-t", tag)
    assert result.returncode == 0, result.stderr
    assert "extra file ../notebooks copied into the context as app/notebooks, into the image as /app/notebooks" in (
        result.stderr)
    # the repository's layout is kept: the project in /app/deployment, the notebooks beside it
    assert docker_env.sh(tag, "ls -A /app; ls -A /app/notebooks; pwd").split() == [
        "deployment", "notebooks", "report.ipynb", "/app/deployment"]
    assert docker_env.run(tag).stdout.strip().endswith("--project=/app/deployment --startup-file=no "
                                                       "/app/deployment/bin/hello.jl")


def test_each_base_uses_its_own_package_manager(docker_env, apt_env, example) -> None:
    # an Alpine-like runtime gets apk; a runtime with no package manager fails naming the image
    project = example("hello")
    tag = docker_env.unique_tag("apk-runtime")
    apk = ensure_image(docker_env.client, "runtime-apk")
    result = docker_env.build(project, "-t", tag, "--system-package", "libgomp", **{
        **apt_env, "SYSIMAGE_DOCKER_RUNTIME_IMAGE": apk})
    assert result.returncode == 0, result.stderr
    assert docker_env.sh(tag, "cat /var/log/apk-standin.log").strip() == "apk add --no-cache libgomp"
    bare = docker_env.build(project, "-t", docker_env.unique_tag("bare-runtime"), "--system-package", "libgomp",
                            SYSIMAGE_DOCKER_BUILDER_IMAGE=apt_env["SYSIMAGE_DOCKER_BUILDER_IMAGE"])
    assert bare.returncode == 1
    assert (f"sysimage-docker: cannot install libgomp in runtime_image {docker_env.runtime_image} (it has no "
            "apt-get, apk, microdnf or dnf)") in bare.stderr
    assert "build failed at [runtime]" in bare.stderr
