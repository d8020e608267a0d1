"""What enters the build context: .dockerignore, default exclusions, symlinks at any depth, special files, and
filesystem errors, with the same verdict from `generate`, `generate -o` and `build --dry-run`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO, tree_files
from test_bad_input import CASES as FILE_CASES
from test_bad_input import make_project

SERVICE = EXAMPLES / "http-service"
OUTSIDE_MARKER = "OUTSIDE-7f3a9c"
SECRET_MARKER = "SECRET-51d0e2"


def _outside(tmp: Path) -> Path:
    path = tmp / "outside.txt"
    path.write_text(f"token={OUTSIDE_MARKER}\n")
    return path


def _nested_outside_link(project: Path, tmp: Path) -> None:
    # a symlinked directory whose content, three levels down, links out of the project
    deep = project / "assets" / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "leak.txt").symlink_to(_outside(tmp))
    (project / "alias").symlink_to(project / "assets")


def _loop_to_ancestor(project: Path, tmp: Path) -> None:
    (project / "data" / "sub").mkdir(parents=True)
    (project / "data" / "sub" / "up").symlink_to("../..")


def _self_loop(project: Path, tmp: Path) -> None:
    (project / "self").symlink_to("self")


def _dangling(project: Path, tmp: Path) -> None:
    (project / "gone.txt").symlink_to("nowhere.txt")


def _fifo(project: Path, tmp: Path) -> None:
    os.mkfifo(project / "pipe")


def _socket(project: Path, tmp: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(project / "app.sock"))
    sock.close()


def _top_outside_link(project: Path, tmp: Path) -> None:
    (project / "data.txt").symlink_to(_outside(tmp))


def _ignore(lines: str) -> Callable[[Path, Path], None]:
    def setup(project: Path, tmp: Path) -> None:
        (project / ".dockerignore").write_text(lines)

    return setup


def _extra(settings: str, make: Callable[[Path], None] = lambda t: None,
           repo: bool = True) -> Callable[[Path, Path], None]:
    """Prepend settings to the project's config (it ends with a table) and shape the tree around the project, which
    lies in a git repository at the temporary directory (unless `repo` is false)."""
    def setup(project: Path, tmp: Path) -> None:
        config = project / "sysimage-docker.toml"
        config.write_text(settings + config.read_text())
        if repo:
            (tmp / ".git").mkdir(exist_ok=True)
        make(tmp)

    return setup


def _link_out_of_context_root(tmp: Path) -> None:
    target = tmp.parent / f"{tmp.name}-outside"
    target.mkdir(exist_ok=True)
    (tmp / "notes").symlink_to(target)


def _repository_at_project(tmp: Path) -> None:
    (tmp / "proj" / ".git").mkdir()


def _shadow_through_context_root(project: Path, tmp: Path) -> None:
    # the repository is the temporary directory; the project file asks for / and the host's /etc/shadow
    (tmp / ".git").mkdir()
    up = "/".join([".."] * len(project.parts))
    config = project / "sysimage-docker.toml"
    config.write_text(f'context_root = "{up}"\nextra_files = ["{up}/etc/shadow"]\n' + config.read_text())


def _path_dep_through_a_link(project: Path, tmp: Path) -> None:
    lib = tmp / "elsewhere" / "Lib"
    lib.mkdir(parents=True)
    (lib / "Project.toml").write_text('name = "Lib"\nuuid = "00000000-0000-4000-8000-000000000001"\n')
    (project / "vendor").symlink_to(tmp / "elsewhere")
    with (project / "Manifest.toml").open("a") as fh:
        fh.write('\n[[deps.Lib]]\npath = "vendor/Lib"\nuuid = "00000000-0000-4000-8000-000000000001"\n')


def _hard_link_out(project: Path, tmp: Path) -> None:
    os.link(_outside(tmp), project / "data.txt")


def _hard_link_to_an_excluded_file(project: Path, tmp: Path) -> None:
    (project / ".env").write_text(f"API_KEY={SECRET_MARKER}\n")
    os.link(project / ".env", project / "settings.txt")


def _link_to_a_secret_beside(tmp: Path) -> None:
    (tmp / ".git").mkdir(exist_ok=True)
    (tmp / ".git" / "config").write_text(SECRET_MARKER)
    (tmp / "notes.txt").symlink_to(".git/config")


WIDER = "(a wider root needs --context-root or SYSIMAGE_DOCKER_CONTEXT_ROOT)"
HARD_LINK = ("has 2 hard links and the build context holds 1 of them; another may be a file outside the project or "
             "one left out, so it is refused (replace it with a copy, or leave it out with .dockerignore or "
             "context_exclude)")


# id -> (tree change, extra args, expected one-line message; {p} is the project, {t} the temporary directory)
TREE_CASES: dict[str, tuple[Callable[[Path, Path], None], list[str], str]] = {
    "outside link at depth 3 of a symlinked directory": (
        _nested_outside_link, [],
        "{p}/alias/a/b/leak.txt: symlink points outside the project ({t}/outside.txt); refusing to copy it"),
    "outside link at the top": (
        _top_outside_link, [],
        "{p}/data.txt: symlink points outside the project ({t}/outside.txt); refusing to copy it"),
    "symlink loop to an ancestor": (
        _loop_to_ancestor, [],
        "{p}/data/sub/up: symlink loop: it leads back to {p}, a directory that contains it"),
    "symlink to itself": (_self_loop, [], "{p}/self: symlink loop (self)"),
    "dangling symlink": (_dangling, [], "{p}/gone.txt: dangling symlink (to nowhere.txt); remove it or leave it out "
                                        "with .dockerignore"),
    "fifo": (_fifo, [], "{p}/pipe: is a FIFO, which a build context cannot hold; leave it out with .dockerignore or "
                        "context_exclude"),
    "socket": (_socket, [], "{p}/app.sock: is a socket, which a build context cannot hold; leave it out with "
                            ".dockerignore or context_exclude"),
    "dockerignore leaves out a needed file": (
        _ignore("precompile/\n"), [],
        "precompile/workload.jl: the image needs it, but .dockerignore or context_exclude leaves it out of the build "
        "context"),
    "dockerignore leaves out the project file": (
        _ignore("*.toml\n"), [],
        "Project.toml: the image needs it, but .dockerignore or context_exclude leaves it out of the build context"),
    "dockerignore bad pattern": (_ignore("ok\n[z-a\n"), [], "{p}/.dockerignore:2: Invalid ignore pattern '[z-a': "
                                                            "syntax error in pattern"),
    "extra file above the project without context_root": (
        _extra('extra_files = ["../notes"]\n', lambda t: (t / "notes").mkdir()), [],
        "extra_files: '../notes' is outside context_root ({p}); set context_root (e.g. \"..\") to allow files "
        "above it"),
    "extra file outside context_root": (
        _extra('context_root = ".."\nextra_files = ["../../elsewhere"]\n'), [],
        "extra_files: '../../elsewhere' is outside context_root ({t})"),
    "extra file linking out of context_root": (
        _extra('context_root = ".."\nextra_files = ["../notes"]\n', _link_out_of_context_root), [],
        "extra_files: ../notes: resolves outside context_root ({t}-outside)"),
    "extra file missing": (
        _extra('context_root = ".."\nextra_files = ["../nope"]\n'), [], "extra_files: ../nope: not found ({t}/nope)"),
    "extra file inside the project": (
        _extra('extra_files = ["bin"]\n'), [],
        "extra_files: 'bin' is inside the project, which is copied whole already"),
    "context_root not above the project": (
        _extra('context_root = "sub"\n'), [],
        "sysimage-docker.toml:1:1: context_root: 'sub' is not a directory above the project (.., ../.., ...)"),
    "context_root from the project file in no repository": (
        _extra('context_root = ".."\n', repo=False), [],
        "sysimage-docker.toml: context_root: '..' reaches {t}, outside the project, which is in no git repository; a "
        f"project file may not widen the root beyond it {WIDER}"),
    "context_root from the project file above its repository": (
        _extra('context_root = ".."\n', _repository_at_project, repo=False), [],
        "sysimage-docker.toml: context_root: '..' reaches {t}, above the project's repository ({p}); a project file "
        f"may not widen the root beyond it {WIDER}"),
    "the project file asks for / and /etc/shadow": (
        _shadow_through_context_root, [],
        "context_root: '{up}' reaches /: the whole file system is never a build context root"),
    "path dependency through a symlink out of the project": (
        _path_dep_through_a_link, [],
        "Manifest.toml: path dependency Lib at 'vendor/Lib' lies outside the project ({p}), resolving to "
        f"{{t}}/elsewhere/Lib; refusing to read it {WIDER}"),
    "extra file that the default exclusions leave out": (
        _extra('context_root = ".."\nextra_files = ["../.env"]\n', lambda t: (t / ".env").write_text(SECRET_MARKER)),
        [], "extra_files: ../.env: the default exclusions leave .env out (secrets, version control, depots); "
            "extra_files cannot bring it in"),
    "extra directory that the default exclusions leave out": (
        _extra('context_root = ".."\nextra_files = ["../.ssh"]\n', lambda t: (t / ".ssh").mkdir()), [],
        "extra_files: ../.ssh: the default exclusions leave .ssh out (secrets, version control, depots); extra_files "
        "cannot bring it in"),
    "extra file linking to an excluded file": (
        _extra('context_root = ".."\nextra_files = ["../notes.txt"]\n', _link_to_a_secret_beside), [],
        "extra_files: ../notes.txt: the default exclusions leave .git/config out (secrets, version control, depots); "
        "extra_files cannot bring it in"),
    "hard link to a file outside the project": (_hard_link_out, [], f"{{p}}/data.txt: {HARD_LINK}"),
    "hard link to an excluded file": (_hard_link_to_an_excluded_file, [], f"{{p}}/settings.txt: {HARD_LINK}"),
    "extra glob that matches nothing": (
        _extra('context_root = ".."\nextra_files = ["../notebooks/*.csv"]\n', lambda t: (t / "notebooks").mkdir()),
        [], "extra_files: ../notebooks/*.csv: matches nothing ({t}/notebooks/*.csv)"),
    "extra glob that reaches an excluded file": (
        _extra('context_root = ".."\nextra_files = ["../.e[n]v"]\n', lambda t: (t / ".env").write_text(SECRET_MARKER)),
        [], "extra_files: ../.e[n]v: the default exclusions leave .env out (secrets, version control, depots); "
            "extra_files cannot bring it in"),
    "extra glob with **": (
        _extra('extra_files = ["../**/a.ipynb"]\n'), [],
        "sysimage-docker.toml:1:1: extra_files: '../**/a.ipynb' must be a path relative to the project, with letters, "
        "digits, space and . _ + @ = , - / only, and the wildcards * ? [...] within a name (no **)"),
    "extra files that overlap": (
        _extra('context_root = ".."\nextra_files = ["../notebooks", "../notebooks/a.ipynb"]\n'), [],
        "extra_files: '../notebooks/a.ipynb' overlaps '../notebooks'; name each place once"),
    "extra file linking to context_root itself": (
        _extra('context_root = ".."\nextra_files = ["../here"]\n', lambda t: (t / "here").symlink_to(".")), [],
        "extra_files: ../here: resolves to context_root itself ({t}); name it as the directory it is"),
    "extra file that context_root's .dockerignore leaves out": (
        _extra('context_root = ".."\nextra_files = ["../draft.ipynb"]\n',
               lambda t: [(t / "draft.ipynb").write_text("{}"), (t / ".dockerignore").write_text("*.ipynb\n")]), [],
        "extra_files: ../draft.ipynb: {t}/.dockerignore leaves draft.ipynb out; extra_files cannot bring it in"),
    "context_exclude leaves out the script": (
        lambda p, t: (p / "sysimage-docker.toml").write_text(
            'context_exclude = ["bin"]\n' + (SERVICE / "sysimage-docker.toml").read_text()), [],
        "bin/server.jl: the image needs it, but .dockerignore or context_exclude leaves it out of the build context"),
}


def _tree_project(tmp_path: Path, case: str) -> tuple[Path, list[str], str]:
    setup, args, expected = TREE_CASES[case]
    project = make_project(tmp_path, {})
    setup(project, tmp_path)
    up = "/".join([".."] * len(project.parts))
    return project, args, expected.format(p=project, t=tmp_path, up=up)


def _scan(root: Path, *markers: str) -> list[str]:
    """Every file under root (links not followed) that holds one of the markers."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {m}" for m in markers if m.encode() in data]
    return found


@pytest.mark.parametrize("case", sorted(TREE_CASES))
def test_tree_case_is_one_line_exit_2_and_writes_nothing(case: str, cli, tmp_path: Path) -> None:
    project, args, expected = _tree_project(tmp_path, case)
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out, *args)
    assert (result.code, result.err) == (2, f"sysimage-docker: error: {expected}\n")
    assert not out.exists() and not list(tmp_path.glob(".sysimage-docker-*"))


def _verdicts(cli, project: Path, args: list[str], env: dict[str, str], out: Path) -> list[tuple[int, str]]:
    runs = [("generate", project, *args), ("generate", project, "-o", out, *args),
            ("build", project, "--dry-run", *args)]
    results = [cli(*run, env=env) for run in runs]
    return [(r.code, r.err.strip().splitlines()[-1] if r.code else "") for r in results]


@pytest.mark.parametrize("case", sorted(TREE_CASES) + [f"file: {c}" for c in sorted(FILE_CASES)])
def test_generate_print_write_and_dry_run_agree(case: str, cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if case.startswith("file: "):
        files, args, env, _ = FILE_CASES[case[len("file: "):]]
        project = make_project(tmp_path, files)
    else:
        project, args, _ = _tree_project(tmp_path, case)
        env = {}
    monkeypatch.chdir(project)
    verdicts = _verdicts(cli, project, args, env, tmp_path / "out")
    assert verdicts[0][0] == 2, verdicts
    assert verdicts[0] == verdicts[1] == verdicts[2], verdicts


def test_a_link_to_an_excluded_directory_is_left_out_with_its_content(cli, tmp_path: Path) -> None:
    # `gitlink -> .git`, and inside .git a hook linking out of the project: nothing of either may arrive
    project = make_project(tmp_path, {})
    git = project / ".git"
    (git / "hooks").mkdir(parents=True)
    (git / "config").write_text(f'[remote "origin"]\n\turl = https://x:{SECRET_MARKER}@example.com/r.git\n')
    (git / "hooks" / "pre-commit").symlink_to(_outside(tmp_path))
    (project / "gitlink").symlink_to(".git")
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    assert "left out of the build context by the default exclusions: .git, gitlink -> .git" in result.err
    assert not any("git" in f for f in tree_files(out / "app"))
    assert _scan(out, OUTSIDE_MARKER, SECRET_MARKER) == []


def test_defaults_leave_out_secrets_and_dockerignore_exceptions_bring_one_back(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    (project / ".env").write_text(f"API_KEY={SECRET_MARKER}\n")
    (project / ".env.example").write_text("API_KEY=\n")
    (project / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET_MARKER}\n")
    (project / "deploy").mkdir()
    (project / "deploy" / "server.pem").write_text(SECRET_MARKER)
    (project / ".ssh").mkdir()
    (project / ".ssh" / "config").write_text(SECRET_MARKER)
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (project / "docs").mkdir()
    for name in ("a.md", "b.md", "README.md"):
        (project / "docs" / name).write_text(name)
    (project / "data").mkdir()
    (project / "data" / "big.bin").write_bytes(b"\0" * 1000)
    (project / "data" / "keep.csv").write_text("x,y\n")
    (project / ".dockerignore").write_text(
        "# docs: only the README\ndocs/*.md\n!docs/README.md\n\ndata\n!data/keep.csv\n!.env.example\n")
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    files = set(tree_files(out / "app"))
    assert {"docs/README.md", "data/keep.csv", ".env.example", "src/GreetService.jl", ".dockerignore"} <= files
    for gone in (".env", "id_rsa", "deploy/server.pem", ".ssh", "__pycache__", "docs/a.md", "data/big.bin"):
        assert gone not in files
    assert _scan(out, SECRET_MARKER) == []
    note = [line for line in result.err.splitlines() if line.startswith("left out")]
    assert note == [f"left out of the build context by the default exclusions and {project}/.dockerignore: .env, "
                    ".ssh, __pycache__, data/big.bin, deploy/server.pem, docs/a.md, docs/b.md, id_rsa "
                    "(a `!PATTERN` line in .dockerignore brings one back)"]


# one file each default exclusion leaves out (a new exclusion needs its file here)
EXCLUDED_BY_DEFAULT = ("sub/.git/config", "sub/.hg/store", "sub/.svn/entries", "sub/.jj/repo", "sub/.bzr/branch",
                       "sub/.env", "sub/.env.production", "keys/id_rsa_deploy", "keys/id_dsa", "keys/id_ecdsa.pub",
                       "keys/id_ed25519", "tls/server.pem", "tls/server.key", "home/.ssh/known_hosts",
                       "home/.aws/credentials", "home/.docker/config.json", "home/.netrc", "home/.git-credentials",
                       "vendor/.julia/registries/General.toml", "py/__pycache__/m.pyc", "tls/client.p12",
                       "tls/client.pfx", "tls/store.jks", "home/.gnupg/pubring.kbx", "home/.npmrc", "home/.pypirc",
                       "home/.gem/credentials", "home/.cargo/credentials", "home/.cargo/credentials.toml",
                       "home/.pgpass", "home/.my.cnf", "home/.azure/accessTokens.json",
                       "home/.config/gcloud/credentials.db", "home/.kube/config", "home/.terraformrc",
                       "home/.terraform.d/credentials.tfrc.json", "home/.vault-token")


def test_every_default_exclusion_leaves_its_files_out(cli, tmp_path: Path) -> None:
    from sysimage_containers.context import DEFAULT_EXCLUDES

    assert len(EXCLUDED_BY_DEFAULT) == len(DEFAULT_EXCLUDES)
    project = make_project(tmp_path, {})
    for rel in EXCLUDED_BY_DEFAULT:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(SECRET_MARKER)
    (project / "tls" / "server.crt").write_text("public")  # beside them, not excluded
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    files = set(tree_files(out / "app"))
    assert "tls/server.crt" in files
    assert sorted(rel for rel in EXCLUDED_BY_DEFAULT if rel in files) == []
    assert _scan(out, SECRET_MARKER) == []


def test_a_big_file_warns_and_dockerignore_keeps_it_out(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    big = project / "data" / "model.bin"
    big.parent.mkdir()
    with big.open("wb") as fh:  # sparse: 200 MB on paper, nothing on disk
        fh.truncate(200 * 1024 * 1024)
    result = cli("generate", project)
    assert result.code == 0
    assert ("sysimage-docker: warning: the build context holds 209.7 MB (over context_warn_mb = 100); largest: "
            "app/data/model.bin (209.7 MB)") in result.err
    (project / ".dockerignore").write_text("data/*.bin\n")
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0 and "warning" not in result.err
    assert not (out / "app" / "data" / "model.bin").exists()
    assert cli("generate", project, env={"SYSIMAGE_DOCKER_CONTEXT_WARN_MB": "-1"}).err == (
        "sysimage-docker: error: SYSIMAGE_DOCKER_CONTEXT_WARN_MB: -1 is not a size in MB (0 turns the warning off)\n")


def test_an_excluded_fifo_is_skipped(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    os.mkfifo(project / "pipe")
    (project / ".dockerignore").write_text("pipe\n")
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    assert not (out / "app" / "pipe").exists()


def test_links_inside_the_project_are_copied_as_their_targets(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    (project / "shared").mkdir()
    (project / "shared" / "lib.jl").write_text("f() = 1\n")
    (project / "lib").symlink_to("shared")
    out = tmp_path / "out"
    assert cli("generate", project, "-o", out).code == 0
    assert (out / "app" / "lib" / "lib.jl").read_text() == "f() = 1\n"
    assert not (out / "app" / "lib").is_symlink()


def test_output_on_a_file_or_an_unwritable_place(cli, tmp_path: Path) -> None:
    target = tmp_path / "ctx.txt"
    target.write_text("keep")
    result = cli("generate", SERVICE, "-o", target)
    assert (result.code, result.err) == (2, f"sysimage-docker: error: {target}: exists and is not a directory\n")
    assert target.read_text() == "keep"
    result = cli("generate", SERVICE, "-o", "/proc/self/ctx")
    assert result.code == 2
    assert result.err.startswith("sysimage-docker: error: /proc/self/ctx: cannot write the build context here: ")
    assert result.err.count("\n") == 1


def test_a_bom_at_the_start_of_toml_files_is_accepted(cli, tmp_path: Path) -> None:
    bom = "\ufeff"
    project = make_project(tmp_path, {})
    for name in ("Project.toml", "Manifest.toml", "sysimage-docker.toml"):
        (project / name).write_text(bom + (SERVICE / name).read_text(), encoding="utf-8")
    result = cli("generate", project)
    assert result.code == 0, result.err
    plain = cli("generate", SERVICE).out
    # the same Dockerfile but for the input hashes in the header
    assert result.out.split("\n", 2)[2] == plain.split("\n", 2)[2]
    utf16 = make_project(tmp_path / "u16", {})
    (utf16 / "Project.toml").write_bytes((SERVICE / "Project.toml").read_text().encode("utf-16"))
    result = cli("generate", utf16)
    assert (result.code, result.err) == (2, "sysimage-docker: error: Project.toml:1: not valid UTF-8 (byte 0xff)\n")


def test_format_1_manifest_builds_with_the_last_1_6(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {"sysimage-docker.toml": "", "Project.toml": (
        (SERVICE / "Project.toml").read_text().replace('julia = "1.10"', 'julia = "1.6"')), "Manifest.toml": (
        '[[HTTP]]\ndeps = ["URIs"]\ngit-tree-sha1 = "0000000000000000000000000000000000000001"\n'
        'uuid = "cd3eb016-35fb-5094-929b-558a96fad6f3"\nversion = "0.8.19"\n\n'
        '[[JSON3]]\nuuid = "0f8b85d8-7281-11e9-16c2-39a750bddbf1"\nversion = "1.5.1"\n\n'
        '[[URIs]]\nuuid = "5c2747f8-b7ea-4ff2-ba2e-563bfd36b1d4"\nversion = "1.1.0"\n')})
    result = cli("generate", project)
    assert result.code == 0, result.err
    assert "FROM julia:1.6.7 AS tools" in result.out
    assert ("sysimage-docker: warning: Manifest.toml has no julia_version and is in manifest format 1.0, which only "
            "Julia 1.6 and older write: building with Julia 1.6.7; set julia_version to choose another") in result.err
    # [compat] julia that excludes 1.6 wins, with no format warning; a configured version wins too
    text = (project / "Project.toml").read_text()
    (project / "Project.toml").write_text(text.replace('julia = "1.6"', 'julia = "1.10"'))
    result = cli("generate", project)
    assert "FROM julia:1.12.7 AS tools" in result.out and "format 1.0" not in result.err
    assert "FROM julia:1.11.9 AS tools" in cli("generate", project, "--julia-version", "1.11").out


def test_ambiguous_manifest_is_refused(cli, tmp_path: Path) -> None:
    manifest = (SERVICE / "Manifest.toml").read_text() + (
        '\n[[deps.Twin]]\nuuid = "00000000-0000-4000-8000-000000000001"\nversion = "1.0.0"\n'
        '\n[[deps.Twin]]\nuuid = "00000000-0000-4000-8000-000000000002"\nversion = "2.0.0"\n'
        '\n[[deps.UsesTwin]]\ndeps = ["Twin"]\nuuid = "00000000-0000-4000-8000-000000000003"\nversion = "1.0.0"\n')
    project = make_project(tmp_path, {"Manifest.toml": manifest})
    result = cli("generate", project)
    assert (result.code, result.err) == (
        2, "sysimage-docker: error: Manifest.toml: UsesTwin lists its dependency 'Twin' by name, but the manifest "
           "has 2 entries of that name: Pkg refuses it as ambiguous; re-resolve the manifest\n")
    # by UUID it is fine, as Pkg writes it when names repeat
    fixed = manifest.replace('deps = ["Twin"]', 'deps = { Twin = "00000000-0000-4000-8000-000000000002" }')
    (project / "Manifest.toml").write_text(fixed)
    assert cli("generate", project).code == 0


@pytest.mark.parametrize("content", ['lts = "1.10"\n', "releases = 5\n", "not toml [\n", b"\xff\xfe"])
def test_a_damaged_release_cache_falls_back_with_a_warning(cli, tmp_path: Path, content: str | bytes) -> None:
    cache = tmp_path / "cache"
    (cache / "sysimage-docker").mkdir(parents=True)
    target = cache / "sysimage-docker" / "julia_releases.toml"
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = cli("generate", SERVICE, env={"XDG_CACHE_HOME": str(cache)})
    assert result.code == 0, result.err
    assert "sysimage-docker: warning: the release list in the user cache cannot be used (" in result.err
    assert "using the built-in table; `sysimage-docker versions --refresh` writes a new one" in result.err


NOBODY = 65534


def _as_nobody(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as root with every capability dropped: as root (CI) permission bits do not stop a read, and
    switching to another uid would need this checkout, its virtualenv and the interpreter (often under /root) to
    be reachable by that user. Without CAP_DAC_*, files owned by another uid are judged by their "other" bits."""
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to run the CLI without capabilities")
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all",
                           "--no-new-privs", sys.executable, "-m", "sysimage_containers", *args],
                          capture_output=True, text=True, env=base, timeout=60)


def _closed(path: Path, mode: int) -> None:
    """Owned by another user with `mode`: a process without capabilities is judged by the "other" bits."""
    os.chown(path, NOBODY, NOBODY)
    path.chmod(mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping capabilities matters as root; as a user, chmod is enough")
def test_unreadable_directory_file_and_home_without_capabilities() -> None:
    top = Path(tempfile.mkdtemp(prefix="sysimage-docker-perm-"))
    try:
        top.chmod(0o755)
        project = top / "proj"
        shutil.copytree(SERVICE, project)
        for path in [project, *project.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        secret = project / "private"
        secret.mkdir()
        _closed(secret, 0o700)
        home = top / "home"
        home.mkdir()
        _closed(home, 0o700)  # the process cannot look inside its own HOME
        result = _as_nobody(["generate", str(project)], env={"HOME": str(home)})
        assert (result.returncode, result.stderr) == (
            2, f"sysimage-docker: error: {secret}: permission denied while reading the project\n")
        secret.rmdir()
        (project / "notes.txt").write_text("x")
        _closed(project / "notes.txt", 0o600)
        result = _as_nobody(["generate", str(project)], env={"HOME": str(home)})
        assert (result.returncode, result.stderr) == (
            2, f"sysimage-docker: error: {project}/notes.txt: permission denied while reading the project\n")
        (project / "notes.txt").unlink()
        result = _as_nobody(["generate", str(project)], env={"HOME": str(home)})
        assert result.returncode == 0, result.stderr
        assert "the release list in the user cache cannot be used (Permission denied)" in result.stderr
        out = top / "readonly"
        out.mkdir()
        _closed(out, 0o755)
        result = _as_nobody(["generate", str(project), "-o", str(out / "ctx")], env={"HOME": str(home)})
        assert (result.returncode, result.stderr.splitlines()[-1]) == (
            2, f"sysimage-docker: error: {out}/ctx: cannot write the build context here: Permission denied")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_exclusions_hold_through_chains_of_symlinked_directories(cli, tmp_path: Path) -> None:
    # issue 19 point 7: `alias -> data` with data/private.csv excluded wrote app/alias/private.csv
    project = make_project(tmp_path, {})
    data = project / "data"
    (data / "secret").mkdir(parents=True)
    (data / "private.csv").write_text(SECRET_MARKER)
    (data / "public.csv").write_text("x,y\n")
    (data / "secret" / "token.txt").write_text(SECRET_MARKER)
    (data / "deploy").mkdir()
    (data / "deploy" / ".env").write_text(SECRET_MARKER)  # a default exclusion, reached through links too
    (project / "alias").symlink_to("data")
    (project / "chain").symlink_to("alias")  # chain -> alias -> data
    (project / "nest" / "deeper").mkdir(parents=True)
    (project / "nest" / "deeper" / "up").symlink_to("../../chain/.")  # `..` components in the target
    (project / ".dockerignore").write_text("data/private.csv\ndata/secret/\n")
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    files = set(tree_files(out / "app"))
    for reached in ("data", "alias", "chain", "nest/deeper/up"):
        assert f"{reached}/public.csv" in files
        assert not {f"{reached}/private.csv", f"{reached}/secret/token.txt", f"{reached}/deploy/.env"} & files
    assert _scan(out, SECRET_MARKER) == []
    note = next(line for line in result.err.splitlines() if line.startswith("left out"))
    for shown in ("alias/private.csv -> data/private.csv", "alias/secret -> data/secret",
                  "chain/deploy/.env -> data/deploy/.env", "data/private.csv"):
        assert shown in note


def test_a_link_name_excluded_leaves_out_only_that_name(cli, tmp_path: Path) -> None:
    # both names are judged: excluding `alias/x.csv` leaves that path out, the file at its real place stays
    project = make_project(tmp_path, {})
    (project / "data").mkdir()
    (project / "data" / "x.csv").write_text("1\n")
    (project / "alias").symlink_to("data")
    (project / ".dockerignore").write_text("alias/x.csv\n")
    out = tmp_path / "out"
    assert cli("generate", project, "-o", out).code == 0
    files = set(tree_files(out / "app"))
    assert "data/x.csv" in files and "alias/x.csv" not in files


CREDENTIAL_FILES = (".npmrc", ".pypirc", ".kube/config", ".pgpass", ".netrc", ".git-credentials", ".docker/config.json",
                    ".gem/credentials", ".cargo/credentials", ".cargo/credentials.toml", ".config/gcloud/creds.db",
                    ".azure/accessTokens.json", "certs/client.p12", "certs/client.pfx", "certs/store.jks",
                    ".terraformrc", ".terraform.d/credentials.tfrc.json", ".vault-token", "tls/server.key",
                    ".gnupg/private-keys-v1.d/k.key", ".my.cnf", ".aws/credentials", ".ssh/id_ed25519")


def test_credential_files_of_other_ecosystems_are_left_out_at_any_depth(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    for rel in CREDENTIAL_FILES:
        for base in (project, project / "home" / "user"):
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_text(SECRET_MARKER)
    (project / ".kube" / "cache.json").write_text("kept\n")  # only the config of .kube is a credential
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    assert _scan(out, SECRET_MARKER) == []
    assert (out / "app" / ".kube" / "cache.json").read_text() == "kept\n"


def test_a_dockerignore_line_that_brings_back_a_secret_is_named(cli, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    (project / ".env").write_text(SECRET_MARKER)
    (project / ".env.example").write_text("API_KEY=\n")  # a template: brought back without a warning
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text("[core]\n")
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "id_rsa").write_text(SECRET_MARKER)
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (project / ".dockerignore").write_text("# brought back on purpose\n!.env\n!.env.example\n!.git\n!__pycache__\n"
                                           "!nothing-here\n")
    out = tmp_path / "out"
    config = project / "sysimage-docker.toml"
    config.write_text('context_exclude = ["!id_rsa"]\n' + config.read_text())
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "brings back" in line]
    tail = ", which the default exclusions leave out as a secret or version control: the image will hold it"
    assert warnings == [f"sysimage-docker: warning: {project}/.dockerignore:2: !.env brings back .env{tail}",
                        f"sysimage-docker: warning: {project}/.dockerignore:4: !.git brings back .git/HEAD, "
                        f".git/config{tail}",
                        f"sysimage-docker: warning: context_exclude: !id_rsa brings back id_rsa{tail}"]
    assert {".env", ".env.example", ".git/config", "id_rsa", "__pycache__/x.pyc"} <= set(tree_files(out / "app"))


def test_hard_links_whose_names_are_all_in_the_project_are_copied(cli, tmp_path: Path) -> None:
    # git checkouts write every file once (link count 1); a hard link inside the project is harmless
    project = make_project(tmp_path, {})
    (project / "data").mkdir()
    (project / "data" / "a.csv").write_text("1\n")
    os.link(project / "data" / "a.csv", project / "b.csv")
    (project / "alias").symlink_to("data")  # the same name reached twice is still one name
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    assert {"data/a.csv", "b.csv", "alias/a.csv"} <= set(tree_files(out / "app"))
    # a third name outside the project: now refused
    os.link(project / "b.csv", tmp_path / "elsewhere.csv")
    result = cli("generate", project, "-o", out)
    assert result.code == 2
    three = HARD_LINK.replace("2 hard links", "3 hard links").replace("holds 1", "holds 2")
    assert result.err == f"sysimage-docker: error: {project}/alias/a.csv: {three}\n"  # the first name walked


def test_secret_sources_never_enter_by_any_path(cli, tmp_path: Path) -> None:
    # issue 19 point 7: a --secret file reached through `cfg -> deploy` (and through a hard link) stays out
    from sysimage_containers import context
    from sysimage_containers.build import secret_files_inside, secret_sources
    from sysimage_containers.pipeline import prepare

    project = make_project(tmp_path, {})
    (project / "deploy").mkdir()
    secret = project / "deploy" / "git-credentials"
    secret.write_text(f"https://ci:{SECRET_MARKER}@example.com\n")
    (project / "cfg").symlink_to("deploy")
    os.link(secret, project / "creds-copy")
    spec = (f"id=git-credentials,src={project}/cfg/git-credentials",)
    prepared = prepare(project, environ={}, leave_out=secret_files_inside(project, spec),
                       secret_sources=secret_sources(spec))
    assert {"cfg/git-credentials -> deploy/git-credentials", "creds-copy (a --secret source)",
            "deploy/git-credentials"} <= set(prepared.listing.left_out)
    out = tmp_path / "out"
    context.write_context(out, prepared.listing, prepared.files)
    assert _scan(out, SECRET_MARKER) == []
    result = cli("build", project, "--dry-run", "--secret", spec[0])
    assert result.code == 0, result.err
    assert "cfg/git-credentials -> deploy/git-credentials" in result.out + result.err
    # extra_files naming the secret source (beside the project) is refused naming the entry
    (tmp_path / ".git").mkdir()
    outside_secret = tmp_path / "token.txt"
    outside_secret.write_text(SECRET_MARKER)
    result = cli("build", project, "--dry-run", "--secret", f"id=t,src={outside_secret}", "--context-root", "..",
                 "--extra-file", "../token.txt")
    assert (result.code, result.err.splitlines()[-1]) == (
        2, "sysimage-docker: error: extra_files: ../token.txt: is the source of a --secret, which never enters the "
           "build context")


def test_the_note_names_every_source_of_exclusions(cli, tmp_path: Path) -> None:
    # issue 20 point 9: what context_exclude left out was labelled "the default exclusions"
    project = make_project(tmp_path, {})
    (project / "data").mkdir()
    (project / "data" / "big.bin").write_bytes(b"\0")
    config = project / "sysimage-docker.toml"
    config.write_text('context_exclude = ["data"]\n' + config.read_text())
    result = cli("generate", project)
    assert "left out of the build context by the default exclusions and context_exclude: data (" in result.err
    (project / ".dockerignore").write_text("nothing\n")
    (project / "token.txt").write_text(SECRET_MARKER)
    result = cli("build", project, "--dry-run", "--secret", f"id=x,src={project}/token.txt")
    assert (f"left out of the build context by the default exclusions, {project}/.dockerignore, context_exclude and "
            "the --secret sources: ") in result.out + result.err


def _repo_beside(tmp_path: Path) -> Path:
    """A repository at tmp_path holding the project (proj) and files beside it."""
    project = make_project(tmp_path, {})
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(SECRET_MARKER)
    (tmp_path / "notebooks").mkdir()
    for name in ("a.ipynb", "b.ipynb", "notes.md", ".hidden.ipynb"):
        (tmp_path / "notebooks" / name).write_text(name)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "logo.png").write_text("png")
    (tmp_path / ".env").write_text(SECRET_MARKER)
    (tmp_path / "README.md").write_text("readme")
    return project


def _with_extra(project: Path, settings: str) -> None:
    config = project / "sysimage-docker.toml"
    config.write_text(settings + config.read_text())


def test_extra_files_dot_dot_is_the_whole_context_root(cli, tmp_path: Path) -> None:
    # issue 20 point 10: `[".."]` was refused as outside context_root although it is the root
    project = _repo_beside(tmp_path)
    _with_extra(project, 'context_root = ".."\nextra_files = [".."]\n')
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    assert "extra file .. copied into the context as app, into the image as /app" in result.err
    files = set(tree_files(out / "app"))
    assert {"README.md", "notebooks/a.ipynb", "notebooks/.hidden.ipynb", "assets/logo.png",
            "proj/src/GreetService.jl"} <= files
    assert not {".env", ".git/config", "out/app/README.md"} & files
    # the project once, whole, but for its configuration file, which never enters the context
    assert "proj/sysimage-docker.toml" not in files
    assert sum(f.startswith("proj/") for f in files) == len(tree_files(project)) - 1
    assert _scan(out, SECRET_MARKER) == []


def test_extra_files_globs(cli, tmp_path: Path) -> None:
    project = _repo_beside(tmp_path)
    _with_extra(project, 'context_root = ".."\nextra_files = ["../notebooks/*.ipynb", "../*/logo.[pj]ng"]\n')
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    files = set(tree_files(out / "app"))
    assert {"notebooks/a.ipynb", "notebooks/b.ipynb", "assets/logo.png"} <= files
    assert not {"notebooks/notes.md", "notebooks/.hidden.ipynb", "README.md"} & files  # `*` skips dot files


def test_context_root_dockerignore_is_relative_to_the_context_root(cli, tmp_path: Path) -> None:
    # issue 20 point 9: with context_root, the .dockerignore of the context root (as Docker reads a context's) holds
    # for the project and extra_files alike, its patterns relative to the context root
    project = _repo_beside(tmp_path)
    (project / "data").mkdir()
    (project / "data" / "big.bin").write_text(SECRET_MARKER)
    (project / "data" / "keep.csv").write_text("x\n")
    (tmp_path / "notebooks" / "draft.ipynb").write_text(SECRET_MARKER)
    (tmp_path / ".dockerignore").write_text("proj/data/*.bin\nnotebooks/draft.ipynb\n")
    _with_extra(project, 'context_root = ".."\nextra_files = ["../notebooks"]\n')
    out = tmp_path / "out"
    result = cli("generate", project, "-o", out)
    assert result.code == 0, result.err
    files = set(tree_files(out / "app"))
    assert {"proj/data/keep.csv", "notebooks/a.ipynb"} <= files
    assert not {"proj/data/big.bin", "notebooks/draft.ipynb"} & files
    assert _scan(out, SECRET_MARKER) == []
    assert (f"left out of the build context by the default exclusions and {tmp_path}/.dockerignore: data/big.bin, "
            "draft.ipynb") in result.err
