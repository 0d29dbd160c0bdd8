"""Running both engines for a plan (dry runs, side by side) or an apply (base, then
services), and turning their structured output into a Plan."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from regionhus.engines import EngineRun, run_ansible, run_pyinfra_json
from regionhus.inventory import Inventory
from regionhus.inventory.vdi_pools import pool_findings
from regionhus.plan import ansible_events, pyinfra_events
from regionhus.plan.guard import out_of_scope
from regionhus.plan.model import Change, HostPlan, Layer, Plan
from regionhus.plan.report import attribute
from regionhus.plan.scope import Scope
from regionhus.progress import Progress
from regionhus.transport import transport_for

BASE_DEPLOY = "deploys/base.py"


def site_playbook() -> str:
    """The services playbook (REGIONHUS_SITE_PLAYBOOK overrides it, for tests)."""
    return os.environ.get("REGIONHUS_SITE_PLAYBOOK", "playbooks/site.yml")


@dataclass
class LayerRun:
    layer: Layer
    run: EngineRun | None  # None: not run (no host in scope / nothing pending)
    changes: list[Change]
    unchanged: dict[str, int]
    # host -> {"paths": ..., "services": ...} the engine reported managing (Ansible only)
    managed: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)  # the hosts the engine ran on


def _limit(hosts: list[str], inventory: Inventory) -> str | None:
    return None if set(hosts) >= {h.name for h in inventory.hosts} else ",".join(hosts)


# Lines an engine writes when a host or an operation failed. With --diff the failure
# is usually far above the end of the output (a rehearsal's error showed 25 lines of
# nftables diff and not why four hosts never became ready), so they are quoted first.
_PROBLEM = re.compile(r"error|could not|failed|unreachable|refused|timed? ?out", re.IGNORECASE)
_TAIL_LINES = 25
_PROBLEM_LINES = 20


def _forks(inventory: Inventory) -> list[str]:
    """Ansible's forks bounded like pyinfra's hosts at once (ansible.cfg has 10)."""
    parallel = transport_for(inventory).parallel
    return ["--forks", str(parallel)] if parallel else []


def _error(layer: Layer, run: EngineRun) -> str:
    lines = run.output.strip().splitlines()
    earlier = [line for line in lines[:-_TAIL_LINES] if _PROBLEM.search(line)]
    quoted = "\n".join(earlier[:_PROBLEM_LINES])
    tail = "\n".join(lines[-_TAIL_LINES:])
    engine = run.command[0].rsplit("/", 1)[-1]
    head = f"{layer.value} layer: {engine} exited {run.returncode}:"
    if quoted:
        return f"{head}\n{quoted}\n(the end of its output:)\n{tail}"
    return f"{head}\n{tail}"


def _lost_host_watch(hosts: list[str], inventory: Inventory) -> Callable[[], str | None]:
    """While pyinfra is silent: a host that fails two ssh logins in a row is gone."""
    via = transport_for(inventory)
    misses: dict[str, int] = {}

    def watch() -> str | None:
        gone = via.unreachable(hosts)
        for host in hosts:
            misses[host] = misses.get(host, 0) + 1 if host in gone else 0
        lost = [host for host in hosts if misses[host] >= 2]
        if not lost:
            return None
        return "; ".join(f"{gone[host]} (unreachable during the run)" for host in lost)

    return watch


def run_base(
    hosts: list[str],
    inventory: Inventory,
    *,
    dry: bool,
    source: str,
    progress: Progress | None = None,
) -> LayerRun:
    if not hosts:
        return LayerRun(Layer.BASE, None, [], {})
    progress = progress or Progress(enabled=False)
    progress.say(
        "base", f"pyinfra {BASE_DEPLOY} {'(dry run) ' if dry else ''}on {len(hosts)} host(s)"
    )
    started = time.monotonic()
    run = run_pyinfra_json(
        BASE_DEPLOY,
        dry=dry,
        limit=_limit(hosts, inventory),
        source=source,
        on_line=progress.pyinfra_line,
        watch=None if dry else _lost_host_watch(hosts, inventory),
        parallel=transport_for(inventory).parallel,
    )
    run.seconds = time.monotonic() - started
    data = run.data or {}
    unchanged: dict[str, int]
    if dry:
        changes, unchanged = pyinfra_events.plan_changes(data, run.output), {}
    else:
        changes, unchanged = pyinfra_events.result_changes(data)
    return LayerRun(Layer.BASE, run, changes, unchanged, hosts=list(hosts))


def run_services(
    hosts: list[str],
    inventory: Inventory,
    *,
    dry: bool,
    source: str,
    progress: Progress | None = None,
) -> LayerRun:
    if not hosts:
        return LayerRun(Layer.SERVICES, None, [], {})
    progress = progress or Progress(enabled=False)
    mode = "--check " if dry else ""
    progress.say("services", f"ansible-playbook {mode}{site_playbook()} on {len(hosts)} host(s)")
    with tempfile.TemporaryDirectory(prefix="regionhus-plan-") as tmp:
        events = Path(tmp) / "events.jsonl"
        started = time.monotonic()
        with progress.follow_ansible(events):
            run = run_ansible(
                site_playbook(),
                check=dry,
                diff=True,
                limit=_limit(hosts, inventory),
                source=source,
                stream=False,
                events=events,
                extra=_forks(inventory),
            )
        run.seconds = time.monotonic() - started
        records = ansible_events.read_events(events)
        changes, unchanged = ansible_events.to_changes(records)
    return LayerRun(
        Layer.SERVICES,
        run,
        changes,
        unchanged,
        managed=ansible_events.managed(records),
        hosts=list(hosts),
    )


def collect(
    runs: list[LayerRun], scope: Scope, inventory: Inventory, *, commit: str, limited: bool
) -> Plan:
    """One Plan from the layers' results: every host in scope, with its changes."""
    serves = {h.name: h.serves for h in inventory.hosts}
    hosts = {
        name: HostPlan(name, serves.get(name, "?"), reasons=list(entry.reasons))
        for name, entry in sorted(scope.hosts.items())
    }
    plan = Plan(
        hosts,
        git_commit=commit,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        limited=limited,
    )
    for layer_run in runs:
        for change in layer_run.changes:
            hosts.setdefault(change.host, HostPlan(change.host, serves.get(change.host, "?")))
            hosts[change.host].changes.append(change)
        for host, count in layer_run.unchanged.items():
            if host in hosts:
                hosts[host].unchanged += count
        run = layer_run.run
        failed_reported = any(c.status == "failed" for c in layer_run.changes)
        if run is not None and not run.ok and not failed_reported:
            plan.errors.append(_error(layer_run.layer, run))
        if run is not None and run.ok:
            for host in layer_run.hosts:
                plan.engines_ran.setdefault(host, set()).add(layer_run.layer)
        for host, named in layer_run.managed.items():
            entry = plan.managed.setdefault(host, {"paths": set(), "services": set()})
            for key, values in named.items():
                entry.setdefault(key, set()).update(values)
    attribute(plan.changes(), inventory.config.kommuner)
    plan.pool_findings = pool_findings(inventory.config, inventory.hosts, "the inventory")
    plan.scope_findings = out_of_scope(
        plan,
        scope.kommuner if limited else None,
        inventory.config.kommuner,
        serves,
    )
    return plan


def dry_run(
    scope: Scope,
    inventory: Inventory,
    *,
    source: str,
    commit: str,
    limited: bool,
    progress: Progress | None = None,
) -> Plan:
    """Both dry runs at once (they only read the hosts), merged into one Plan."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        base = pool.submit(
            run_base,
            scope.limit(Layer.BASE),
            inventory,
            dry=True,
            source=source,
            progress=progress,
        )
        services = pool.submit(
            run_services,
            scope.limit(Layer.SERVICES),
            inventory,
            dry=True,
            source=source,
            progress=progress,
        )
        runs = [base.result(), services.result()]
    return collect(runs, scope, inventory, commit=commit, limited=limited)


def apply_runs(
    plan: Plan,
    scope: Scope,
    inventory: Inventory,
    *,
    source: str,
    everything: bool,
    progress: Progress | None = None,
) -> list[LayerRun]:
    """Apply base, then services (only if base succeeded). Without `everything`, the base
    layer runs only on hosts the plan found pending, and the services layer only if some
    host in scope has pending services work (then on the whole scope: plays may need
    their peers, e.g. a replica DC joining the first)."""
    base_hosts = scope.limit(Layer.BASE) if everything else plan.pending_hosts(Layer.BASE)
    base = run_base(base_hosts, inventory, dry=False, source=source, progress=progress)
    if base.run is not None and not base.run.ok:
        return [base]
    pending_services = everything or plan.pending_hosts(Layer.SERVICES)
    services_hosts = scope.limit(Layer.SERVICES) if pending_services else []
    services = run_services(services_hosts, inventory, dry=False, source=source, progress=progress)
    return [base, services]
