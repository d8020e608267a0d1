"""The option cascade: defaults < sysimage-docker.toml < SYSIMAGE_DOCKER_* < command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES

from sysimage_containers import config
from sysimage_containers.options import OPTIONS


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "sysimage-docker.toml").write_text(text)
    return tmp_path


def test_one_table_matches_the_config_dataclass() -> None:
    assert {o.key for o in OPTIONS} == config.config_keys()
    defaults = config.Config()
    for option in OPTIONS:
        assert getattr(defaults, option.key) == config._default(option), option.key


def test_precedence_cli_over_env_over_file_over_default(tmp_path: Path) -> None:
    write(tmp_path, 'runtime_image = "ubuntu:24.04"\nuser_id = 2000\nports = [1]\ncpu_target = "native"\n')
    env = {"SYSIMAGE_DOCKER_USER_ID": "3000", "SYSIMAGE_DOCKER_PORTS": "2,3"}
    cfg = config.resolve(tmp_path, environ=env, cli={"ports": [4], "julia_version": None})
    assert cfg.runtime_image == "ubuntu:24.04" and cfg.sources["runtime_image"] == "file"
    assert cfg.user_id == 3000 and cfg.sources["user_id"] == "env"
    assert cfg.ports == (4,) and cfg.sources["ports"] == "cli"
    assert cfg.cpu_target == "native"
    assert cfg.julia_version is None and cfg.sources["julia_version"] == "default"


def test_env_lists_and_bools(tmp_path: Path) -> None:
    cfg = config.resolve(tmp_path, environ={"SYSIMAGE_DOCKER_PACKAGES": "HTTP, JSON3",
                                            "SYSIMAGE_DOCKER_BUILDKIT": "off",
                                            "SYSIMAGE_DOCKER_TRACE": "YES"})
    assert cfg.packages == ("HTTP", "JSON3") and cfg.buildkit is False and cfg.trace is True


def test_tables_from_file_and_cli(tmp_path: Path) -> None:
    write(tmp_path, '[env]\nA = "from file"\n[labels]\n"org.example.team" = "core"\n')
    cfg = config.resolve(tmp_path, cli={"env": ["B=from cli=with equals"]})
    assert cfg.env == (("B", "from cli=with equals"),)
    assert cfg.labels == (("org.example.team", "core"),)


def test_unknown_key_position_in_the_file(example, cli) -> None:
    project = write(example("hello"), '# comment\nscript = "x.jl"\n\n  include_projcet = true\n')
    result = cli("generate", project)
    assert result.err == ("sysimage-docker: error: sysimage-docker.toml:4:3: unknown key 'include_projcet'; "
                          "did you mean 'include_project'?\n")


def test_a_removed_key_says_why(example, cli) -> None:
    project = write(example("hello"), 'replace_default = true\n')
    result = cli("generate", project)
    assert (result.code, result.err) == (2, "sysimage-docker: error: sysimage-docker.toml:1:1: replace_default: "
                                            "removed in 0.2: every sysimage-mode image now ships its sysimage as "
                                            "Julia's default lib/julia/sys.so (and no stock one), so plain `julia` "
                                            "uses it; delete the key\n")


def test_explicit_config_file(tmp_path: Path) -> None:
    other = tmp_path / "ci.toml"
    other.write_text('runtime_image = "ubuntu:24.04"\n')
    cfg = config.resolve(tmp_path, config_path=other)
    assert cfg.runtime_image == "ubuntu:24.04" and cfg.config_file == str(other)


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.env_var], ids=lambda o: o.key)
def test_an_empty_environment_variable_is_unset(option, cli) -> None:
    # the same Dockerfile as with no variable at all, for every option (engine options included: generate
    # ignores them, build --dry-run reads them)
    # (docker_client: unset means the client on PATH, which `generate` renders for)
    baseline = cli("generate", EXAMPLES / "http-service",
                   env={option.env_var: None} if option.key == "docker_client" else None)
    for empty in ("", "  "):
        result = cli("generate", EXAMPLES / "http-service", env={option.env_var: empty})
        assert (result.code, result.out) == (0, baseline.out), (option.key, result.err)
    assert cli("build", EXAMPLES / "http-service", "--dry-run", env={option.env_var: ""}).code == 0


def test_a_time_zone_name_may_have_100_characters(monkeypatch) -> None:
    name = "Europe/" + "B" * 93  # 100 characters: accepted; one more is refused (the bad-input catalogue)
    monkeypatch.setattr(config, "_timezones", lambda: frozenset({name}))  # a database that knows it
    assert config.resolve(None, cli={"timezone": name}).timezone == name
