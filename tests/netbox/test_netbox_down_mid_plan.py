"""NetBox going away while `plan` or `apply` reads the inventory from it.

The real test NetBox (the session's, already running for the other NetBox tests, so
this costs seconds, not a NetBox start) sits behind a loopback TCP relay. The relay
passes the first request (the loader's change-log check, which proves URL and token)
and then NetBox goes away in the middle of the read, either at once (the process
died: connections reset, the port refuses) or silently (it hangs: nothing answers).
Stopping the shared NetBox itself would take it from the other tests for a restart
(tens of seconds); to the client the two look the same: a reset or a silence.

Stated outcome: exit 1, an error naming NetBox and its URL with no traceback, no
fallback to the embedded hosts, no host touched (no ssh configuration written, no
apply record).
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from live_netbox import REPO, LiveNetBox

from regionhus.config import load_region
from regionhus.secrets import required_secrets

pytestmark = pytest.mark.netbox

RH = str(Path(sys.executable).parent / "regionhus")
METHODS = (b"GET ", b"POST ", b"PUT ", b"PATCH ", b"DELETE ", b"HEAD ")


class DyingRelay:
    """Relays to NetBox; after `passes` requests NetBox is gone ("reset" or "hang")."""

    def __init__(self, target: tuple[str, int], passes: int, how: str) -> None:
        self.target, self.passes, self.how = target, passes, how
        self.requests = 0
        self.dead = threading.Event()
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed: the port now refuses
            if self.dead.is_set():
                self.sockets.append(client)  # "hang": accepted, never answered
                continue
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            if from_client and data.startswith(METHODS):
                with self.lock:
                    self.requests += 1
                    if self.requests > self.passes and not self.dead.is_set():
                        self._die()
            if self.dead.is_set():
                return
            try:
                dst.sendall(data)
            except OSError:
                return

    def _die(self) -> None:
        self.dead.set()
        if self.how == "reset":
            self.listener.close()
            for sock in self.sockets:
                # Linger 0: the peer gets a reset, as from a process that died.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def relay(netbox_live: LiveNetBox, request: pytest.FixtureRequest) -> Iterator[DyingRelay]:
    parts = urlsplit(netbox_live.url)
    relay = DyingRelay((parts.hostname or "127.0.0.1", parts.port or 80), 1, request.param)
    yield relay
    relay.close()


def throwaway_vault(tmp: Path) -> dict[str, str]:
    """A valid region vault of made-up secrets: the run gets past its secrets check."""
    password = tmp / "vault-password"
    password.write_text("test-vault-password\n")
    data = {
        name: {k: f"Rh-passphrase-{k}-0123" for k in keys} if keys else "Rh-secret-0123456"
        for name, keys in required_secrets(load_region(REPO)).items()
    }
    vault = tmp / "region.vault.yml"
    lib = VaultLib([("region", VaultSecret(password.read_bytes().strip()))])
    vault.write_bytes(lib.encrypt(yaml.safe_dump(data), vault_id="region"))
    return {"REGIONHUS_VAULT_FILE": str(vault), "REGIONHUS_VAULT_PASSWORD_FILE": str(password)}


def run(relay: DyingRelay, token: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **throwaway_vault(tmp),
        **os.environ,
        "REGIONHUS_INVENTORY": "netbox",
        "REGIONHUS_NETBOX_URL": relay.url,
        "REGIONHUS_NETBOX_TOKEN": token,
        "REGIONHUS_NETBOX_ENV_FILE": str(tmp / "no-netbox.env"),
        "REGIONHUS_STATE_DIR": str(tmp / "state"),
        "REGIONHUS_CACHE_DIR": str(tmp / "cache"),  # empty: the read must reach NetBox
        "REGIONHUS_NETBOX_TIMEOUT": "3",
    }
    return subprocess.run(
        [RH, "--root", str(REPO), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("relay", ["reset", "hang"], indirect=True)
@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes", "--allow-dirty"]])
def test_netbox_gone_mid_read_stops_with_its_url_and_touches_no_host(
    relay: DyingRelay, netbox_live: LiveNetBox, tmp_path: Path, command: list[str]
) -> None:
    started = time.monotonic()
    out = run(relay, netbox_live.token, tmp_path, *command, "--host", "vdi-kongsberg-1")
    seconds = time.monotonic() - started

    assert relay.dead.is_set(), "NetBox never went away: the read ended before it"
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"NetBox at {relay.url}" in out.stderr, out.stderr[-2000:]
    expected = "is unreachable" if relay.how == "reset" else "did not answer in time"
    assert expected in out.stderr and "NOT used instead" in out.stderr, out.stderr[-2000:]
    assert "Traceback" not in out.stderr + out.stdout
    # Stopped while reading the inventory: no ssh config (written before any host is
    # reached), no plan shown, no apply record.
    state = tmp_path / "state"
    assert not (state / "ssh").exists(), sorted(p.name for p in state.rglob("*"))
    assert not list(state.glob("records/applies/*")), "an apply record without an apply"
    assert "vdi-kongsberg-1" not in out.stdout, out.stdout[-2000:]
    # A silent NetBox is named within its timeout (3 s here), not after ten minutes.
    assert seconds < 60
