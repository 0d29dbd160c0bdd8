"""The monitoring role's alert rules, rendered as the role renders them, against
`promtool test rules` cases (tests/fixtures/monitoring/rules.test.yml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2
import pytest
import yaml

from regionhus.paths import cache_dir

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "monitoring"
CASES = ROOT / "tests" / "fixtures" / "monitoring" / "rules.test.yml"


def promtool() -> Path:
    """Debian's promtool (what the monitoring host runs), taken from the `prometheus`
    package without installing it (that would start a Prometheus here), once, into the
    cache; REGIONHUS_PROMTOOL points at another binary."""
    if os.environ.get("REGIONHUS_PROMTOOL"):
        return Path(os.environ["REGIONHUS_PROMTOOL"])
    target = cache_dir() / "prometheus-deb"
    binary = target / "usr" / "bin" / "promtool"
    if binary.exists():
        return binary
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", "-q", "prometheus"], cwd=tmp, check=True)
        (deb,) = Path(tmp).glob("prometheus_*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), f"{tmp}/x"], check=True)
        binary.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f"{tmp}/x/usr/bin/promtool", binary)
    return binary


def render(template: str, **overrides: object) -> str:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(template).render(**{**defaults, **overrides})


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("rules")
    (where / "regionhus.rules.yml").write_text(
        render("etc/prometheus/rules/regionhus.rules.yml.j2")
    )
    shutil.copy(CASES, where / "rules.test.yml")
    return where


def test_rules_pass_their_promtool_cases(rules_dir: Path) -> None:
    proc = subprocess.run(
        [str(promtool()), "test", "rules", "rules.test.yml"],
        cwd=rules_dir,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_broken_case_fails(rules_dir: Path) -> None:
    """The cases can fail: the DC alert expected one evaluation too early is refused."""
    cases = yaml.safe_load(CASES.read_text())
    cases["tests"][0]["alert_rule_test"][0]["eval_time"] = "6m"
    (rules_dir / "broken.test.yml").write_text(yaml.safe_dump(cases))
    proc = subprocess.run(
        [str(promtool()), "test", "rules", "broken.test.yml"],
        cwd=rules_dir,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "DomainControllerDown" in proc.stdout + proc.stderr
