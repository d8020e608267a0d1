"""`sysimage-docker ci github|gitlab`: a CI workflow that installs the tool, logs in to a registry from the CI's
own secrets, builds with --push and the registry cache, keeps the metadata and the SBOM as artifacts, and verifies
the pushed image. Written as data through PyYAML; every value placed in a shell line goes through the renderer's
one shell-quoting function, and image references are checked with the registry grammar first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sysimage_containers import __version__, imageref
from sysimage_containers.errors import UsageError
from sysimage_containers.render import shell_word

WORKFLOW_FILES = {"github": ".github/workflows/sysimage-docker.yml", "gitlab": ".gitlab-ci.yml"}
OUTPUTS = ("build.json", "sbom.cdx.json")


def _build_line(project: str, platforms: tuple[str, ...]) -> str:
    """The build, with the image and the cache repository from the job's environment (IMAGE, CACHE, SHA)."""
    words = ["sysimage-docker", "build", shell_word(project), "-t", '"$IMAGE:$SHA"', "--push", "--cache-repo",
             '"$CACHE"', "--metadata-file", OUTPUTS[0], "--sbom-file", OUTPUTS[1], "--progress", "plain"]
    for platform in platforms:
        words += ["--platform", shell_word(platform)]
    return " ".join(words)


VERIFY = 'sysimage-docker verify "$IMAGE:$SHA"'


def _names(image: str | None, cache_repo: str | None, default_image: str) -> list[str]:
    """Shell lines that set IMAGE and CACHE: the given values (quoted), else the CI's own registry."""
    image_value = shell_word(image) if image else default_image
    cache_value = shell_word(cache_repo) if cache_repo else '"$IMAGE-cache"'
    return [f"IMAGE={image_value}", f"CACHE={cache_value}"]


def github(project: str, image: str | None, cache_repo: str | None, platforms: tuple[str, ...]) -> dict[str, Any]:
    """GitHub Actions: the GITHUB_TOKEN logs in to ghcr.io (or name your own registry secrets)."""
    registry = imageref.registry(image) if image else "ghcr.io"
    # the job's GITHUB_TOKEN can push to ghcr.io only; another registry takes two repository secrets
    own = registry == "ghcr.io"
    login = {"registry": registry,
             "username": "${{ github.actor }}" if own else "${{ secrets.REGISTRY_USERNAME }}",
             "password": "${{ secrets.GITHUB_TOKEN }}" if own else "${{ secrets.REGISTRY_PASSWORD }}"}
    # image names are lower-case; GitHub repository names need not be
    names = _names(image, cache_repo, '"ghcr.io/${GITHUB_REPOSITORY,,}"')
    set_names = "\n".join([*names, 'echo "IMAGE=$IMAGE" >> "$GITHUB_ENV"', 'echo "CACHE=$CACHE" >> "$GITHUB_ENV"'])
    return {
        "name": "sysimage-docker",
        "on": {"push": {"branches": ["main"], "tags": ["v*"]}, "workflow_dispatch": {}},
        "permissions": {"contents": "read", "packages": "write"},
        "jobs": {"image": {
            "runs-on": "ubuntu-latest",
            "env": {"SHA": "${{ github.sha }}"},
            "steps": [
                {"uses": "actions/checkout@v4"},
                {"uses": "actions/setup-python@v5", "with": {"python-version": "3.12"}},
                # a docker-container builder: the registry cache (cache_repo) needs buildx beyond the docker driver
                {"uses": "docker/setup-buildx-action@v3"},
                {"name": "Log in to the registry", "uses": "docker/login-action@v3", "with": login},
                {"name": "Install sysimage-docker", "run": f"pip install sysimage-docker=={__version__}"},
                {"name": "Name the image and its cache", "run": set_names + "\n"},
                {"name": "Build and push", "run": _build_line(project, platforms)},
                {"name": "Verify the pushed image", "run": VERIFY},
                {"name": "Keep the metadata and the SBOM", "if": "always()", "uses": "actions/upload-artifact@v4",
                 "with": {"name": "sysimage-docker", "path": "\n".join(OUTPUTS) + "\n", "if-no-files-found": "warn"}},
            ],
        }},
    }


def gitlab(project: str, image: str | None, cache_repo: str | None, platforms: tuple[str, ...]) -> dict[str, Any]:
    """GitLab CI with Docker-in-Docker: the job's own CI_REGISTRY_* variables log in."""
    return {
        "stages": ["image"],
        "sysimage-docker": {
            "stage": "image",
            "image": "docker:27",
            "services": ["docker:27-dind"],
            "variables": {"DOCKER_TLS_CERTDIR": "/certs", "SHA": "$CI_COMMIT_SHA"},
            "before_script": [
                "apk add --no-cache python3 py3-pip",  # py3-pip: ensurepip for the virtualenv
                f"python3 -m venv /opt/sysimage-docker && /opt/sysimage-docker/bin/pip install "
                f"sysimage-docker=={__version__}",
                'export PATH="/opt/sysimage-docker/bin:$PATH"',
                *(f"export {line}" for line in _names(image, cache_repo, '"$CI_REGISTRY_IMAGE"')),
                # the job's own registry, or another one with REGISTRY_USER / REGISTRY_PASSWORD CI/CD variables
                ('echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"'
                 if image is None else 'echo "$REGISTRY_PASSWORD" | docker login -u "$REGISTRY_USER" '
                 f"--password-stdin {shell_word(imageref.registry(image))}"),
                # a docker-container builder: the registry cache (cache_repo) needs buildx beyond the docker driver
                "docker buildx create --use --driver docker-container",
            ],
            "script": [_build_line(project, platforms), VERIFY],
            "artifacts": {"when": "always", "paths": list(OUTPUTS)},
            "rules": [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}, {"if": "$CI_COMMIT_TAG"}],
        },
    }


def render(kind: str, project: str, image: str | None, cache_repo: str | None, platforms: tuple[str, ...]) -> str:
    import yaml

    if image is not None:
        imageref.check(image, "--image", digest=False)
        if ":" in image.rsplit("/", 1)[-1]:
            raise UsageError(f"--image: {image!r} names a tag; give the repository (the commit becomes the tag)")
    if cache_repo is not None:
        imageref.check_repository(cache_repo, "cache_repo")
    data = (github if kind == "github" else gitlab)(project, image, cache_repo, platforms)
    header = (f"# Written by sysimage-docker {__version__} (`sysimage-docker ci {kind}`): build, push with the "
              "registry cache, keep\n# the metadata and the SBOM, verify the pushed image. Edit freely.\n")
    class Dumper(yaml.SafeDumper):
        """Multi-line strings (shell scripts, artifact lists) as literal blocks, as people write them."""

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return header + yaml.dump(data, Dumper=Dumper, sort_keys=False, width=1000, default_flow_style=False)


def output_path(kind: str, project: Path) -> Path:
    """The workflow belongs at the repository's root (the project may live in a subdirectory)."""
    from sysimage_containers.provenance import git

    top = git(project, "rev-parse", "--show-toplevel")
    return Path(top or project) / WORKFLOW_FILES[kind]
