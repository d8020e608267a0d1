"""The generated CI jobs, run step by step here: the YAML parsed, each job's `run:` / `script:` lines run in order
with bash (GitHub: one process per step, GITHUB_ENV carried over as the runner does; GitLab: before_script and
script in one shell), with the CI system's variables set (GITHUB_* / CI_*), against a loopback registry with a
login and the local engine through buildx (the plugin in the job's DOCKER_CONFIG, as on a runner with
setup-buildx). The install step installs this checkout (INSTALL_SYSIMAGE_DOCKER, as a repository or CI/CD variable
would) into a virtual environment of the test's own. The images hold the stand-in julia.

Not run: the `uses:` actions (checkout, setup-python, setup-buildx, login, upload-artifact: the test logs in itself,
as docker/login-action would), GitLab's `apk add` (this is not Alpine) and `docker buildx create --driver
docker-container` (its BuildKit image cannot be pulled here; the jobs build on buildx's docker driver instead)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, REPO
from registry import Registry, running_registry
from test_buildx_engine import find_plugin

pytestmark = pytest.mark.docker

SKIPPED = ("apk add ", "docker buildx create ")


@pytest.fixture(scope="module")
def tool_venv(tmp_path_factory) -> tuple[Path, Path]:
    """A virtual environment the install steps install into, and a wheel of this checkout for them to install
    (installed once here, so the steps' own installs find it and its dependencies in place)."""
    root = tmp_path_factory.mktemp("tool")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", str(REPO), "-w", str(root)], check=True, capture_output=True)
    wheel = next(root.glob("sysimage_docker-*.whl"))
    subprocess.run([*pip, "install", str(wheel)], check=True, capture_output=True)
    return venv, wheel


@pytest.fixture
def runner(docker_env, tmp_path: Path, tool_venv: tuple[Path, Path]) -> Iterator[tuple[Path, dict[str, str]]]:
    """A checkout (a git repository with the project in deploy/) and the runner's environment."""
    plugin = find_plugin()
    if plugin is None:
        message = "no docker-buildx plugin (.ci/run installs it)"
        pytest.fail(message) if os.environ.get("SYSIMAGE_DOCKER_REQUIRE_DOCKER") == "1" else pytest.skip(message)
    checkout = tmp_path / "checkout"
    shutil.copytree(EXAMPLES / "hello", checkout / "deploy")
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["-c", "user.name=ci", "-c", "user.email=ci@example.com",
                                                               "commit", "-q", "-m", "app"]):
        subprocess.run(["git", *args], cwd=checkout, check=True, capture_output=True)
    config = tmp_path / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "cli-plugins" / "docker-buildx").symlink_to(plugin)
    env = docker_env.env()
    for key in ("SYSIMAGE_DOCKER_ENGINE", "SYSIMAGE_DOCKER_DOCKER_CLIENT"):  # what a runner has: docker with buildx
        env.pop(key)
    venv, wheel = tool_venv
    env.update(PATH=f"{venv / 'bin'}:/usr/bin:/bin", DOCKER_CONFIG=str(config), CI="true",
               INSTALL_SYSIMAGE_DOCKER=str(wheel), HOME=str(tmp_path))
    yield checkout, env


def login(registry: Registry, env: dict[str, str]) -> None:
    done = subprocess.run(["docker", "login", "-u", str(registry.user), "--password-stdin", registry.host],
                          input=registry.password, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


def run_github(text: str, checkout: Path, env: dict[str, str], event: dict[str, str]) -> str:
    job = yaml.safe_load(text)["jobs"]["image"]
    assert job["env"]["SHA"] == "${{ github.sha }}"
    assert job["env"]["DEFAULT_BRANCH"] == "${{ github.event.repository.default_branch }}"
    github_env = checkout.parent / "github-env"
    github_env.write_text("")
    step_env = {**env, "GITHUB_REPOSITORY": "Acme/App", "GITHUB_ENV": str(github_env), "DEFAULT_BRANCH": "main",
                **event}
    log = []
    for step in job["steps"]:
        if "run" not in step:
            continue
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=checkout, capture_output=True, text=True,
                              env=step_env, timeout=600)
        log.append(f"$ {step['run']}\n{done.stdout}{done.stderr}")
        assert done.returncode == 0, "\n".join(log)[-6000:]
        for line in github_env.read_text().splitlines():  # what the runner passes to the next steps
            key, _, value = line.partition("=")
            step_env[key] = value
    return "\n".join(log)


def run_gitlab(text: str, checkout: Path, env: dict[str, str], variables: dict[str, str]) -> str:
    job = yaml.safe_load(text)["sysimage-docker"]
    assert job["variables"]["SHA"] == "$CI_COMMIT_SHA"
    lines = [line for line in [*job["before_script"], *job["script"]] if not line.startswith(SKIPPED)]
    job_env = {**env, **{k: v for k, v in job["variables"].items() if k not in ("SHA", "INSTALL_SYSIMAGE_DOCKER",
                                                                                 "TOOL_VENV")},
               "SHA": variables["CI_COMMIT_SHA"], **variables}
    done = subprocess.run(["sh", "-e", "-x", "-c", "\n".join(lines)], cwd=checkout, capture_output=True, text=True,
                          env=job_env, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    return done.stdout + done.stderr


def test_the_github_job_runs_on_push_tag_and_pull_request(cli, runner, docker_env, tmp_path) -> None:
    checkout, env = runner
    with running_registry(tmp_path / "reg", auth=("ci", uuid.uuid4().hex)) as registry:
        image = f"{registry.host}/acme/app"
        assert cli("ci", "github", checkout / "deploy", "--image", image).code == 0
        text = (checkout / ".github/workflows/sysimage-docker.yml").read_text()
        login(registry, env)
        # a push to the default branch: the commit and latest, the cache next to the image
        main_sha = uuid.uuid4().hex
        docker_env.created += [f"{image}:{main_sha}", f"{image}:latest", f"{image}:v1.2.0"]
        run_github(text, checkout, env, {"GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch",
                                         "GITHUB_REF_NAME": "main", "SHA": main_sha})
        assert registry.tags("acme/app") == {main_sha, "latest"}
        assert "runtime" in registry.tags("acme/app-cache")
        meta = json.loads((checkout / "build.json").read_text())
        assert {p["tag"] for p in meta["pushed"]} == {f"{image}:{main_sha}", f"{image}:latest"}
        assert meta["error"] is None
        # a git tag: the tag too
        tag_sha = uuid.uuid4().hex
        docker_env.created.append(f"{image}:{tag_sha}")
        run_github(text, checkout, env, {"GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag",
                                         "GITHUB_REF_NAME": "v1.2.0", "SHA": tag_sha})
        assert registry.tags("acme/app") == {main_sha, "latest", tag_sha, "v1.2.0"}
        # a pull request: built and verified, nothing pushed
        pr_sha = uuid.uuid4().hex
        docker_env.created.append(f"{image}:{pr_sha}")
        log = run_github(text, checkout, env, {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF_TYPE": "branch",
                                               "GITHUB_REF_NAME": "7/merge", "SHA": pr_sha})
        assert registry.tags("acme/app") == {main_sha, "latest", tag_sha, "v1.2.0"}
        assert "pushed " not in log and f"{image}:{pr_sha}: sysimage /usr/local/julia/lib/julia/sys.so" in log
        assert json.loads((checkout / "build.json").read_text())["pushed"] == []
        # verify and sbom pull an image the engine does not have
        docker_env.docker("image", "rm", "--force", f"{image}:{main_sha}", f"{image}:latest")
        verify = subprocess.run(["sysimage-docker", "verify", f"{image}:{main_sha}"], capture_output=True, text=True,
                                env=env)
        assert verify.returncode == 0, verify.stderr
        docker_env.docker("image", "rm", "--force", f"{image}:{main_sha}")
        sbom = subprocess.run(["sysimage-docker", "sbom", f"{image}:latest"], capture_output=True, text=True, env=env)
        assert sbom.returncode == 0 and json.loads(sbom.stdout)["bomFormat"] == "CycloneDX", sbom.stderr


def test_the_gitlab_job_runs_on_the_default_branch_and_a_merge_request(cli, runner, docker_env, tmp_path) -> None:
    checkout, env = runner
    with running_registry(tmp_path / "reg", auth=("gitlab-ci-token", uuid.uuid4().hex)) as registry:
        assert cli("ci", "gitlab", checkout / "deploy").code == 0
        text = (checkout / ".gitlab-ci.yml").read_text()
        project_image = f"{registry.host}/acme/app"
        ci = {"CI_REGISTRY": registry.host, "CI_REGISTRY_IMAGE": project_image, "CI_REGISTRY_USER": str(registry.user),
              "CI_REGISTRY_PASSWORD": str(registry.password), "CI_DEFAULT_BRANCH": "main",
              "TOOL_VENV": str(Path(env["PATH"].split(":")[0]).parent)}
        sha = uuid.uuid4().hex
        docker_env.created += [f"{project_image}:{sha}", f"{project_image}:latest"]
        run_gitlab(text, checkout, env, {**ci, "CI_COMMIT_SHA": sha, "CI_COMMIT_BRANCH": "main",
                                         "CI_PIPELINE_SOURCE": "push"})
        assert registry.tags("acme/app") == {sha, "latest"}
        assert "runtime" in registry.tags("acme/app/cache")  # under the project's path, where the token may push
        mr_sha = uuid.uuid4().hex
        docker_env.created.append(f"{project_image}:{mr_sha}")
        log = run_gitlab(text, checkout, env, {**ci, "CI_COMMIT_SHA": mr_sha, "CI_PIPELINE_SOURCE":
                                               "merge_request_event", "CI_MERGE_REQUEST_IID": "7"})
        assert registry.tags("acme/app") == {sha, "latest"}
        assert "--push" not in log.split("sysimage-docker build", 1)[1].splitlines()[0]
        assert os.path.exists(checkout / "sbom.cdx.json")
