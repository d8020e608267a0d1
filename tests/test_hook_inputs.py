"""hook_inputs and depot_dirs in the generated Dockerfile (the engine side is in test_hook_inputs_engine.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import EXAMPLES

SETUP = "#!/bin/sh\nset -e\nmkdir -p /opt/models && cp requirements.txt deploy/*.yml /opt/models/\n"


def project_with_hook(tmp_path: Path) -> Path:
    project = shutil.copytree(EXAMPLES / "http-service", tmp_path / "p")
    (project / "deploy").mkdir()
    (project / "deploy" / "setup.sh").write_text(SETUP)
    (project / "deploy" / "setup.sh").chmod(0o755)
    (project / "deploy" / "a.yml").write_text("a: 1\n")
    (project / "deploy" / "b.yml").write_text("b: 2\n")
    (project / "requirements.txt").write_text("numpy\n")
    (project / ".env").write_text("API_TOKEN=secret\n")
    config = project / "sysimage-docker.toml"  # its [labels] table ends it: the new keys go first
    config.write_text('hook_inputs = ["requirements.txt", "deploy/*.yml", "*"]\nruntime_paths = ["/opt/models"]\n'
                      'depot_dirs = ["conda", "datadeps"]\n' + config.read_text())
    return project


def test_hook_inputs_come_before_the_first_hook_and_nothing_else_of_the_project(tmp_path: Path, cli) -> None:
    project = project_with_hook(tmp_path)
    result = cli("generate", project, "--hook", "after_instantiate=deploy/setup.sh", "--hook",
                 "runtime=deploy/setup.sh")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    instantiate = next(i for i, line in enumerate(lines) if "instantiate.jl" in line and line.startswith("    julia"))
    copies = [line for line in lines[instantiate:] if line.startswith("COPY [\"app/")]
    # the matches of "*" at the top: files only, never the excluded .env nor the configuration file (it never
    # enters the context); then the hook; the source comes later
    assert copies[:8] == [
        'COPY ["app/requirements.txt", "/app/requirements.txt"]',
        'COPY ["app/deploy/a.yml", "/app/deploy/a.yml"]',
        'COPY ["app/deploy/b.yml", "/app/deploy/b.yml"]',
        'COPY ["app/Manifest.toml", "/app/Manifest.toml"]',
        'COPY ["app/Project.toml", "/app/Project.toml"]',
        'COPY ["app/deploy/setup.sh", "/app/deploy/setup.sh"]',
        'COPY ["app/precompile/workload.jl", "/app/precompile/workload.jl"]',
        'COPY ["app/", "/app/"]',
    ]
    assert ".env" not in result.out
    # beside the runtime hook, at the same relative places
    runtime = result.out.split("AS runtime", 1)[1]
    assert 'COPY ["app/requirements.txt", "/opt/sysimage-docker/hooks/requirements.txt"]' in runtime
    assert runtime.index("hooks/deploy/b.yml") < runtime.index('"/opt/sysimage-docker/hooks/deploy/setup.sh"]')


def test_depot_dirs_ship_and_are_made_in_the_builder(tmp_path: Path, cli) -> None:
    project = project_with_hook(tmp_path)
    result = cli("generate", project, "--hook", "after_instantiate=deploy/setup.sh")
    assert result.code == 0, result.err
    assert "RUN mkdir -p /opt/julia/depot/conda /opt/julia/depot/datadeps && \\" in result.out
    assert "packages|artifacts|compiled|registries|logs|scratchspaces|clones|conda|datadeps) ;;" in result.out
    runtime = result.out.split("AS runtime", 1)[1]
    assert 'COPY --from=builder ["/opt/julia/depot/conda", "/opt/julia/depot/conda"]' in runtime
    assert 'COPY --from=builder ["/opt/julia/depot/datadeps", "/opt/julia/depot/datadeps"]' in runtime


def test_the_same_verdict_from_generate_and_build_dry_run(tmp_path: Path, cli) -> None:
    project = project_with_hook(tmp_path)
    args = ("--hook", "after_instantiate=deploy/setup.sh", "--hook-input", "nothing/*.txt")
    for command in (("generate",), ("generate", "-o", str(tmp_path / "out")), ("build", "--dry-run")):
        result = cli(*command, project, *args)
        assert (result.code, result.err.splitlines()[-1]) == (
            2, "sysimage-docker: error: hook_inputs: nothing/*.txt: matches no file in the build context"), command
    assert not (tmp_path / "out").exists()
