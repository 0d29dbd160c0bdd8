"""The AWX execution environment: `ansible-builder create` accepts execution-environment.yml
and the build context holds the package, the roles, the plugins and CI's versions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUILDER = Path(sys.executable).parent / "ansible-builder"


def pins() -> dict[str, str]:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    return {
        name.lower(): version
        for name, version in (line.split("==", 1) for line in lines if "==" in line)
    }


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ee")
    proc = subprocess.run(
        [str(BUILDER), "create", "-f", str(REPO / "execution-environment.yml"), "-c", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_context_holds_the_package_roles_and_inventory_plugin(context: Path) -> None:
    build = context / "_build"
    assert (build / "regionhus" / "pyproject.toml").is_file()
    assert (build / "regionhus" / "regionhus" / "inventory" / "build.py").is_file()
    assert (build / "ansible" / "plugins" / "inventory" / "regionhus.py").is_file()
    roles = {p.name for p in (REPO / "roles").iterdir() if p.is_dir()}
    assert roles and roles == {p.name for p in (build / "ansible" / "roles").iterdir()}


def test_image_installs_the_package_with_cis_versions(context: Path) -> None:
    containerfile = (context / "Dockerfile").read_text()
    install = re.search(
        r"RUN .*pip install .*-c /opt/regionhus/constraints.txt /opt/regionhus", containerfile
    )
    assert install, "the package is installed with constraints.txt"
    assert "COPY _build/ansible/roles /usr/share/ansible/roles" in containerfile
    assert "COPY _build/ansible/plugins /usr/share/ansible/plugins" in containerfile


def test_ee_pins_match_constraints() -> None:
    """The EE runs what CI tested: every version it names is constraints.txt's."""
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    deps = ee["dependencies"]
    named = [deps["ansible_core"]["package_pip"], *deps["python"]]
    pinned = pins()
    assert any(n.startswith("pyinfra==") for n in named)
    for spec in named:
        name, version = spec.split("==")
        assert pinned[name.lower()] == version, f"{spec} but constraints.txt has {pinned[name]}"
