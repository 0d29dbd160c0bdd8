"""Benchmark: a no-change `regionhus plan` of the lab region against Ansible's own
check mode of the same services playbook, Ansible configured two ways, in one run.

    .venv/bin/python bench/plan_apply.py [--rounds 2] [--lock /tmp/regionhus-lab.lock]
        [--frozen] [--host H ...] [--out bench/plan_apply.md]
        [--json bench/plan_apply-results.json]

- Ansible's defaults: a config with only what is needed to find the hosts (the
  inventory plugin, roles path, the vault); everything else as Ansible ships it: ssh
  multiplexing on (ControlMaster=auto, ControlPersist=60s), no pipelining, 5 forks,
  implicit fact gathering, no fact cache.
- Tuned Ansible: the project's ansible.cfg as regionhus runs it: pipelining,
  ControlPersist=300s, 10 forks (more than the lab has hosts), smart gathering with a
  jsonfile fact cache, warm from the round before.
- `regionhus plan`: both layers (pyinfra base and the Ansible services); a host whose
  converged record matches (inputs and one probe of its state) skips the engines.
- `regionhus plan --full`: both engines' dry runs on every host.

Ansible gets only the services; regionhus also plans the base layer, so the
comparison favours Ansible. Run on a converged lab: the first `plan --full` writes the
converged records (hosts it finds nothing to do on). With --lock, each round (the first
with the first --full, the last with the last) holds the shared lab lock, taken before
the clock starts: the lab is free for others between rounds, and nobody changes it
within one.

--frozen runs every command in a clone of the checkout's HEAD (its code too, through
PYTHONPATH): the fingerprints cover the checkout's files, so a checkout that others
edit while the bench runs would send every host to the engines, as it must.

Besides wall time, each run records CPU seconds, because the machine's cores are
shared: of the command's own processes (and this machine's ssh processes, which hold
the multiplexed connections), of the lab hosts' processes (every process in a
container's PID namespace; their idle rate is measured first), and of the whole
machine (other people's work included).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from regionhus.engines import engine_env, lab_extra_vars
from regionhus.paths import repo_root

BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")
IDLE_SECONDS = 10.0
DEFAULTS_CFG = """[defaults]
inventory = {root}/inventory/regionhus.yml
inventory_plugins = {root}/plugins/inventory
roles_path = {root}/roles
interpreter_python = /usr/bin/python3
retry_files_enabled = False

[inventory]
enable_plugins = regionhus
"""
TITLES = {
    "defaults": "ansible-playbook --check --diff, Ansible's defaults",
    "tuned": "ansible-playbook --check --diff, tuned",
    "plan": "regionhus plan",
}


@dataclass
class Run:
    title: str
    kind: str
    seconds: float
    code: int
    cpu_command: float  # the command's processes and this machine's ssh processes
    cpu_lab: float  # every process in the lab's containers
    cpu_machine: float  # the whole machine, other people's work included
    load: float  # 1-minute load average when it started
    started: str


@contextlib.contextmanager
def held(lock: Path | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- CPU accounting -----------------------------------------------------------------------


def _stat(pid: str) -> tuple[str, float, float] | None:
    """(comm, own CPU, own + reaped children's CPU) of one process, in seconds."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return comm, (utime + stime) / TICK, (utime + stime + cutime + cstime) / TICK


def cpu_snapshot() -> tuple[float, float, float]:
    """(this machine's ssh processes, the lab containers' processes, the whole machine):
    CPU seconds so far. A container's processes count with the children they reaped, so
    a probe's shell that has exited is in its sshd's (or init's) total."""
    own_ns = os.readlink("/proc/self/ns/pid")
    ssh = lab = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            ns = os.readlink(f"/proc/{pid}/ns/pid")
        except OSError:
            continue
        found = _stat(pid)
        if found is None:
            continue
        comm, own, total = found
        if ns != own_ns:
            lab += total
        elif comm == "ssh":  # the ControlMaster processes outlive the command that forked them
            ssh += own
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    # user, nice, system, idle, iowait, irq, softirq, steal: all but idle and iowait
    ticks = [int(f) for f in fields[:8]]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / TICK
    return ssh, lab, busy


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    title: str, kind: str, command: list[str], env: dict[str, str], cwd: Path
) -> tuple[Run, str]:
    load = os.getloadavg()[0]
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    ssh0, lab0, busy0 = cpu_snapshot()
    own0 = children_cpu()
    started = time.monotonic()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    own1 = children_cpu()
    ssh1, lab1, busy1 = cpu_snapshot()
    run = Run(
        title,
        kind,
        round(seconds, 2),
        proc.returncode,
        round(own1 - own0 + max(0.0, ssh1 - ssh0), 2),
        round(lab1 - lab0, 2),
        round(busy1 - busy0, 2),
        round(load, 2),
        started_at,
    )
    return run, proc.stdout[-1500:] + proc.stderr[-2500:]


def idle_lab_rate() -> float:
    """The lab's CPU seconds per second with nothing run on it (its own daemons)."""
    _, lab0, _ = cpu_snapshot()
    time.sleep(IDLE_SECONDS)
    _, lab1, _ = cpu_snapshot()
    return round((lab1 - lab0) / IDLE_SECONDS, 3)


# --- the checkout ------------------------------------------------------------------------


@contextlib.contextmanager
def checkout(frozen: bool) -> Iterator[tuple[Path, str]]:
    """(the checkout to run in, its commit)."""
    root = repo_root()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    if not frozen:
        yield root, head
        return
    with tempfile.TemporaryDirectory(prefix="regionhus-bench-") as tmp:
        copy = Path(tmp) / "checkout"
        subprocess.run(["git", "clone", "--quiet", "--shared", str(root), str(copy)], check=True)
        subprocess.run(["git", "checkout", "--quiet", head], cwd=copy, check=True)
        yield copy, head


def machine() -> dict[str, object]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "host": os.uname().nodename,
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(int(memory) / 2**20, 1),
        "kernel": os.uname().release,
        "python": platform.python_version(),
    }


# --- the run -----------------------------------------------------------------------------


def commands(
    root: Path, hosts: list[str], cfg: Path, frozen: bool
) -> dict[str, tuple[list[str], dict[str, str]]]:
    rh = [str(BIN / "regionhus")]
    scope = [a for h in hosts for a in ("--host", h)]
    limit = ["--limit", ",".join(hosts)] if hosts else []
    base = {**os.environ, "REGIONHUS_OPERATOR": "bench", "REGIONHUS_ROOT": str(root)}
    if frozen:  # the copy's code, not the shared checkout's (an editable install)
        base["PYTHONPATH"] = str(root)
    check = [str(BIN / "ansible-playbook"), "--check", "--diff", "playbooks/site.yml", *limit]
    check += lab_extra_vars("embedded")
    os.environ["REGIONHUS_ROOT"] = str(root)  # engine_env's checkout (ansible.cfg, plugins)
    tuned_env = {**base, **engine_env("embedded")}
    defaults_env = {**tuned_env, "ANSIBLE_CONFIG": str(cfg)}
    for key in ("ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION"):
        defaults_env.pop(key)
    return {
        "full": ([*rh, "plan", "--full", "--quiet", *scope], base),
        "plan": ([*rh, "plan", "--quiet", *scope], base),
        "defaults": (check, defaults_env),
        "tuned": (check, tuned_env),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=repo_root() / "bench" / "plan_apply.md")
    parser.add_argument(
        "--json", type=Path, default=repo_root() / "bench" / "plan_apply-results.json"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--lock", type=Path, help="hold this lock file for each measurement")
    parser.add_argument("--host", action="append", default=[], help="only these hosts")
    parser.add_argument(
        "--frozen", action="store_true", help="run in a clone of HEAD (others edit the checkout)"
    )
    args = parser.parse_args()
    # One lock hold per round (about twelve minutes; the first --full goes with the first
    # round, the last with the last): the lab is free for others between rounds, and
    # nobody changes it within one.
    groups: list[list[tuple[str, str]]] = []
    for n in range(1, args.rounds + 1):
        groups.append(
            [(f"round {n}: {TITLES[kind]}", kind) for kind in ("plan", "tuned", "defaults")]
        )
    groups[0].insert(0, ("regionhus plan --full (writes the converged records)", "full"))
    groups[-1].append(("regionhus plan --full (engines on every host)", "full"))
    with checkout(args.frozen) as (root, commit), tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "defaults.cfg"
        cfg.write_text(DEFAULTS_CFG.format(root=root))
        todo = commands(root, args.host, cfg, args.frozen)
        meta: dict[str, object] = {
            "commit": commit,
            "frozen": args.frozen,
            "hosts": args.host or "the whole lab region",
            "machine": machine(),
        }
        results: list[Run] = []
        for group in groups:
            with held(args.lock):
                if "lab_idle_cpu_per_second" not in meta:
                    meta["lab_idle_cpu_per_second"] = idle_lab_rate()
                    print(f"==> lab idle: {meta['lab_idle_cpu_per_second']} CPU s/s", flush=True)
                for title, kind in group:
                    results.append(measure(title, kind, todo[kind], root))
                    write(args, meta, results)  # an interrupted run keeps what it measured


def measure(title: str, kind: str, todo: tuple[list[str], dict[str, str]], root: Path) -> Run:
    print(f"==> {title}", flush=True)
    run, tail = timed(title, kind, *todo, root)
    print(
        f"    {run.seconds:.1f} s, exit {run.code}, CPU {run.cpu_command:.1f} s "
        f"(lab {run.cpu_lab:.1f} s, machine {run.cpu_machine:.1f} s), load {run.load}",
        flush=True,
    )
    if run.code not in (0, 2):
        print(tail, flush=True)
    return run


def summary(results: list[Run]) -> dict[str, object]:
    best = {}
    for kind in ("defaults", "tuned", "plan", "full"):
        measured = [r for r in results if r.kind == kind]
        if measured:
            best[kind] = asdict(min(measured, key=lambda r: r.seconds))
    ratios = {}
    if "plan" in best:
        for kind in ("defaults", "tuned", "full"):
            if kind in best:
                ratios[f"{kind}_over_plan"] = round(
                    float(best[kind]["seconds"]) / float(best["plan"]["seconds"]), 1
                )
    return {"best": best, "ratios": ratios}


def write(args: argparse.Namespace, meta: dict[str, object], results: list[Run]) -> None:
    data = {**meta, "runs": [asdict(r) for r in results], **summary(results)}
    args.json.write_text(json.dumps(data, indent=2) + "\n")
    where = f"hosts {', '.join(args.host)}" if args.host else "the whole lab region"
    box = meta["machine"]
    assert isinstance(box, dict)
    lines = [
        f"| {r.title} | {r.seconds:.1f} | {r.cpu_command:.1f} | {r.cpu_lab:.1f} | "
        f"{r.cpu_machine:.1f} | {r.load:.1f} | {r.code} |"
        for r in results
    ]
    best = summary(results)["best"]
    assert isinstance(best, dict)
    ratios = []
    if "plan" in best:
        plan = best["plan"]
        ratios.append(
            f"- regionhus plan, best of rounds: **{plan['seconds']:.1f} s** wall, "
            f"{plan['cpu_command']:.1f} s CPU here and {plan['cpu_lab']:.1f} s on the hosts"
        )
        for kind in ("defaults", "tuned", "full"):
            if kind in best:
                other = best[kind]
                name = TITLES.get(kind, "regionhus plan --full")
                ratios.append(
                    f"- {name} ({other['seconds']:.1f} s): "
                    f"**{other['seconds'] / plan['seconds']:.1f}x** wall, "
                    f"{(other['cpu_command'] + other['cpu_lab']) / max(0.01, plan['cpu_command'] + plan['cpu_lab']):.1f}x CPU (here + hosts)"  # noqa: E501
                )
    text = args.out.read_text() if args.out.exists() else ""
    start, end = "<!-- results -->", "<!-- /results -->"
    head = text.split(start)[0] if start in text else text
    tail = text.split(end, 1)[1] if end in text else ""
    body = "\n".join(
        [
            start,
            f"## Run of {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {where}, "
            f"commit {str(meta['commit'])[:10]}"
            + (" in a frozen copy" if meta["frozen"] else " in the shared checkout"),
            "",
            f"Machine: {box['host']}, {box['cpus']} CPUs ({box['cpu_model']}), "
            f"{box['memory_gib']} GiB, shared with other engineers' work while this ran (the "
            "load column); hence the CPU columns. The lab's hosts used "
            f"{meta['lab_idle_cpu_per_second']} CPU s per second idle (their own daemons), "
            "included in the lab column. Raw figures: `bench/plan_apply-results.json`.",
            "",
            "| run | wall s | CPU s here | CPU s lab hosts | CPU s machine | load | exit |",
            "|---|---|---|---|---|---|---|",
            *lines,
            "",
            *ratios,
            "",
            end,
        ]
    )
    args.out.write_text(head + body + tail)
    print("\n".join(ratios))


if __name__ == "__main__":
    main()
