"""An engine's failure is reported with the lines that say why, not only its last lines."""

from __future__ import annotations

from regionhus.engines import EngineRun
from regionhus.plan.model import Layer
from regionhus.plan.run import _error


def _run(output: str) -> EngineRun:
    return EngineRun(command=["/venv/bin/pyinfra", "deploys/base.py"], returncode=1, output=output)


def test_a_failure_above_a_long_diff_is_quoted() -> None:
    lines = ["--> Connecting to hosts...", "    [dc1] Could not connect (Error reading SSH banner)"]
    lines += [f"      | diff line {n}" for n in range(200)]
    message = _error(Layer.BASE, _run("\n".join(lines)))
    assert "[dc1] Could not connect (Error reading SSH banner)" in message
    assert "diff line 199" in message and "diff line 100" not in message


def test_a_short_output_is_shown_once() -> None:
    message = _error(Layer.BASE, _run("    [gw1] Error: permission denied"))
    assert message.count("[gw1] Error: permission denied") == 1
    assert message.startswith("base layer: pyinfra exited 1:")
