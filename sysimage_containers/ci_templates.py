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


INSTALL_VAR = "INSTALL_SYSIMAGE_DOCKER"


def install_spec() -> str:
    """What the install step gives pip: the release that wrote the workflow (the file and the tool agree on flags).
    Set INSTALL_SYSIMAGE_DOCKER in the CI's variables to install another: a requirement, a git URL or a path."""
    return f"sysimage-docker=={__version__}"


def _tags(ref_is_tag: str, ref_name: str, on_default_branch: str) -> str:
    """A shell script that sets TAGS: the commit, the git tag (made a valid image tag), `latest` on the default
    branch. Every tag is `$IMAGE:` plus characters of the tag grammar, so TAGS splits on spaces safely."""
    return "\n".join([
        'TAGS="$IMAGE:$SHA"',
        f'if {ref_is_tag}; then TAGS="$TAGS $IMAGE:$(printf %s "{ref_name}" | tr -c "A-Za-z0-9_.-" - '
        '| cut -c1-128)"; fi',
        f'if {on_default_branch}; then TAGS="$TAGS $IMAGE:latest"; fi',
    ])


def _build_script(project: str, platforms: tuple[str, ...], is_review: str) -> list[str]:
    """The build: every tag; pushed with the registry cache unless it is a pull/merge request, which builds and
    verifies without pushing (its job may have no right to push, e.g. from a fork)."""
    words = ["sysimage-docker", "build", shell_word(project), '"$@"', "--metadata-file", OUTPUTS[0],
             "--sbom-file", OUTPUTS[1], "--progress", "plain"]
    for platform in platforms:
        words += ["--platform", shell_word(platform)]
    return [
        'set -- && for tag in $TAGS; do set -- "$@" --tag "$tag"; done',
        f'{is_review} || set -- "$@" --push --cache-repo "$CACHE"',
        " ".join(words),
    ]


# after a push the image may not be in the runner's engine (buildx on a docker-container builder does not load
# it): verify pulls it, so what is checked is what the registry holds
VERIFY = 'sysimage-docker verify "$IMAGE:$SHA"'


def _names(image: str | None, cache_repo: str | None, default_image: str, default_cache: str) -> list[str]:
    """Shell lines that set IMAGE and CACHE: the given values (quoted), else the CI's own registry."""
    image_value = shell_word(image) if image else default_image
    cache_value = shell_word(cache_repo) if cache_repo else default_cache
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
    names = _names(image, cache_repo, '"ghcr.io/${GITHUB_REPOSITORY,,}"', '"$IMAGE-cache"')
    tags = _tags('[ "$GITHUB_REF_TYPE" = tag ]', "$GITHUB_REF_NAME",
                 '[ "$GITHUB_REF_TYPE" = branch ] && [ "$GITHUB_REF_NAME" = "$DEFAULT_BRANCH" ]')
    set_names = "\n".join([*names, tags, *(f'echo "{n}=${n}" >> "$GITHUB_ENV"' for n in ("IMAGE", "CACHE", "TAGS"))])
    is_review = '[ "$GITHUB_EVENT_NAME" = pull_request ]'
    return {
        "name": "sysimage-docker",
        "on": {"push": {"branches": ["main"], "tags": ["v*"]}, "pull_request": {}, "workflow_dispatch": {}},
        "permissions": {"contents": "read", "packages": "write"},
        "jobs": {"image": {
            "runs-on": "ubuntu-latest",
            "env": {"SHA": "${{ github.sha }}", "DEFAULT_BRANCH": "${{ github.event.repository.default_branch }}",
                    # what the install step gives pip; a repository variable of this name installs another
                    # version, a git URL or a path
                    INSTALL_VAR: f"${{{{ vars.{INSTALL_VAR} || '{install_spec()}' }}}}"},
            "steps": [
                {"uses": "actions/checkout@v4"},
                {"uses": "actions/setup-python@v5", "with": {"python-version": "3.12"}},
                # a docker-container builder: the registry cache (cache_repo) needs buildx beyond the docker driver
                {"uses": "docker/setup-buildx-action@v3"},
                {"name": "Log in to the registry", "if": "github.event_name != 'pull_request'",
                 "uses": "docker/login-action@v3", "with": login},
                {"name": "Install sysimage-docker", "run": f'pip install "${INSTALL_VAR}"'},
                {"name": "Name the image, its tags and its cache", "run": set_names + "\n"},
                {"name": "Build (and push, except for pull requests)",
                 "run": "\n".join(_build_script(project, platforms, is_review)) + "\n"},
                {"name": "Verify the image", "run": VERIFY},
                {"name": "Keep the metadata and the SBOM", "if": "always()", "uses": "actions/upload-artifact@v4",
                 "with": {"name": "sysimage-docker", "path": "\n".join(OUTPUTS) + "\n", "if-no-files-found": "warn"}},
            ],
        }},
    }


def gitlab(project: str, image: str | None, cache_repo: str | None, platforms: tuple[str, ...]) -> dict[str, Any]:
    """GitLab CI with Docker-in-Docker: the job's own CI_REGISTRY_* variables log in. The cache lies under the
    project's registry path ($CI_REGISTRY_IMAGE/cache), where the job token may push."""
    is_review = '[ "$CI_PIPELINE_SOURCE" = merge_request_event ]'
    tags = _tags('[ -n "$CI_COMMIT_TAG" ]', "$CI_COMMIT_TAG",
                 '[ -n "$CI_COMMIT_BRANCH" ] && [ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]')
    return {
        "stages": ["image"],
        "sysimage-docker": {
            "stage": "image",
            "image": "docker:27",
            "services": ["docker:27-dind"],
            "variables": {"DOCKER_TLS_CERTDIR": "/certs", "SHA": "$CI_COMMIT_SHA",
                          # what pip installs (a CI/CD variable of this name installs another version, a git URL
                          # or a path), and where
                          INSTALL_VAR: install_spec(), "TOOL_VENV": "/opt/sysimage-docker"},
            "before_script": [
                "apk add --no-cache python3 py3-pip",  # py3-pip: ensurepip for the virtualenv
                f'python3 -m venv "$TOOL_VENV" && "$TOOL_VENV/bin/pip" install "${INSTALL_VAR}"',
                'export PATH="$TOOL_VENV/bin:$PATH"',
                *(f"export {line}" for line in _names(image, cache_repo, '"$CI_REGISTRY_IMAGE"', '"$IMAGE/cache"')),
                *tags.splitlines(),
                # the job's own registry, or another one with REGISTRY_USER / REGISTRY_PASSWORD CI/CD variables
                ('echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"'
                 if image is None else 'echo "$REGISTRY_PASSWORD" | docker login -u "$REGISTRY_USER" '
                 f"--password-stdin {shell_word(imageref.registry(image))}"),
                # a docker-container builder: the registry cache (cache_repo) needs buildx beyond the docker driver
                "docker buildx create --use --driver docker-container",
            ],
            "script": [*_build_script(project, platforms, is_review), VERIFY],
            "artifacts": {"when": "always", "paths": list(OUTPUTS)},
            "rules": [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}, {"if": "$CI_COMMIT_TAG"},
                      {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}],
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
              "registry cache (tags: the\n# commit, a git tag, latest on the default branch; pull/merge requests "
              "build without pushing), keep the\n# metadata and the SBOM, verify the image (pulled from the registry "
              f"after a push). {INSTALL_VAR} chooses what\n# is installed (default: this release). Edit freely.\n")
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
