"""Monitoring in the lab: alerts from real probes reach the right receivers.

The receivers are webhooks on the lab bridge (10.47.0.1:9099, what the monitoring play
gives every receiver in the lab); this module listens there. The lab's monitoring
times (playbooks/vars/monitoring-lab.yml: 5 s scrapes, 15 s before firing) keep each
proof under a minute or two.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from regionhus.lab import run_on
from regionhus.monitoring.targets import LAB_SINK_PORT

pytestmark = pytest.mark.lab

PROMETHEUS = "http://10.47.0.6:9090"
BRIDGE = "10.47.0.1"
BACKUP_SERVER, BACKUP_ADDRESS = "backup1", "10.47.0.21"


class Receiver:
    """Every notification Alertmanager posts, by receiver (the URL's path)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def alerts(self, receiver: str, alertname: str, status: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                alert
                for path, body in self.posts
                if path == receiver
                for alert in body.get("alerts", [])
                if alert["labels"].get("alertname") == alertname and alert["status"] == status
            ]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with got.lock:
                got.posts.append((self.path.strip("/"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((BRIDGE, LAB_SINK_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got
    server.shutdown()
    server.server_close()


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(2)
    return found


def prometheus(query: str) -> list[dict[str, Any]]:
    url = f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        result: list[dict[str, Any]] = json.load(response)["data"]["result"]
    return result


def test_every_probe_answers_on_the_applied_region() -> None:
    """The DCs' and session hosts' probes succeed: the proofs below start from green."""

    def green() -> list[dict[str, Any]] | None:
        found = prometheus('probe_success{host=~"dc.*|vdi-.*"}')
        return found if found and all(r["value"][1] == "1" for r in found) else None

    checks = {(r["metric"]["host"], r["metric"]["check"]) for r in wait_for(green, "green", 60)}
    assert {("dc1", "ldap_bind"), ("dc1", "kerberos"), ("dc1", "dns")} <= checks
    assert {("vdi-kongsberg-1", "rdp_tls"), ("vdi-notodden-1", "rdp_tls")} <= checks
    assert {r["metric"]["host"] for r in prometheus('up{job="node"} == 1')} >= {"dc1", "backup1"}


def test_a_stopped_domain_controller_fires_and_resolves(receiver: Receiver) -> None:
    run_on("dc1", "systemctl stop samba-ad-dc")
    try:
        (firing,) = wait_for(
            lambda: receiver.alerts("regional-operations", "DomainControllerDown", "firing"),
            "DomainControllerDown for dc1 at regional operations",
        )
        assert firing["labels"]["host"] == "dc1" and firing["labels"]["severity"] == "critical"
    finally:
        run_on("dc1", "systemctl start samba-ad-dc")
    wait_for(
        lambda: receiver.alerts("regional-operations", "DomainControllerDown", "resolved"),
        "DomainControllerDown resolved after samba-ad-dc started",
        seconds=180,
    )
    # A shared host's alert is regional operations' alone.
    for kommune in ("kommune-kongsberg", "kommune-notodden"):
        assert not receiver.alerts(kommune, "DomainControllerDown", "firing")


def borg(host: str, repo: str, args: str) -> None:
    rsh = (
        "ssh -i /root/.ssh/regionhus-backup_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes "
        "-o UserKnownHostsFile=/etc/regionhus-backup/known_hosts -o StrictHostKeyChecking=yes"
    )
    env = (
        f"BORG_RSH='{rsh}' BORG_PASSCOMMAND='cat /etc/regionhus-backup/passphrases/{repo}' "
        "BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=YES"
    )
    url = f"ssh://borg-{repo}@{BACKUP_ADDRESS}/srv/backup/{repo}"
    run_on(host, f"{env} borg {args.format(url=url)}")


def test_a_client_delete_reaches_that_municipality_and_no_other(receiver: Receiver) -> None:
    host, repo = "vdi-kongsberg-1", "kongsberg"
    probe = f"{host}-monitoring-probe-{int(time.time())}"
    state = f"/var/lib/regionhus-backup/state/{repo}.json"
    borg(host, repo, f"create {{url}}::{probe} /etc/hostname")
    wait_for(
        lambda: probe in run_on(BACKUP_SERVER, f"cat {state}").stdout,
        "the guard saw the probe archive",
    )
    borg(host, repo, f"delete {{url}}::{probe}")
    try:
        (alert,) = wait_for(
            lambda: receiver.alerts("kommune-kongsberg", "BackupClientDelete", "firing"),
            "BackupClientDelete at kongsberg's receiver",
        )
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["repository"] == "kongsberg"
        assert receiver.alerts("regional-operations", "BackupClientDelete", "firing")
        assert not receiver.alerts("kommune-notodden", "BackupClientDelete", "firing")
    finally:
        # The probe archive held nothing of the municipality's: accept, as an operator
        # would after review; the alert resolves.
        run_on(BACKUP_SERVER, f"regionhus-borg-guard accept {repo}")
    wait_for(
        lambda: receiver.alerts("kommune-kongsberg", "BackupClientDelete", "resolved"),
        "BackupClientDelete resolved after the operator accepted",
    )
    assert not receiver.alerts("kommune-notodden", "BackupClientDelete", "firing")
