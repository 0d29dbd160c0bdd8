"""Public keys read from hosts when they are applied, recorded on the control machine.

A backup client makes its own key (the private half never leaves it) and the backup
server needs the public half of every client in the region, not only of the clients
in the current run. The backup play reads each client's key and records it here
(`python -m regionhus.backup.keys record`); the inventory gives the server every
recorded key. The server's ssh host key is recorded the same way, so a client applied
alone can pin it.

Why the state directory rather than NetBox: it works the same with the embedded and
the NetBox source, needs no NetBox write token in an apply, and sits next to the
apply records. A missing record heals itself: any run that includes the host records
its key again, and until then the scope guard stops a scoped apply that would drop
an out-of-scope client's key.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from pydantic import ValidationError

from regionhus.records import KeyRecord, key_record_path, load_record, write_key_record

BACKUP_CLIENT = "backup-client"  # a client's key for the backup server
SSH_HOST = "ssh-host-ed25519"  # a host's ssh host key (the backup server's, for clients)
KINDS = (BACKUP_CLIENT, SSH_HOST)

HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
PUBLIC_KEY = re.compile(r"^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+$")


def normalise(text: str) -> str:
    """`type base64` of an OpenSSH public key line (the comment is dropped)."""
    key = " ".join(text.split()[:2])
    if not PUBLIC_KEY.match(key):
        raise ValueError(f"not an OpenSSH public key: {text[:60]!r}")
    return key


def _check(host: str, kind: str) -> None:
    if not HOST_NAME.match(host):
        raise ValueError(f"not a host name: {host!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown key kind {kind!r}; one of {', '.join(KINDS)}")


def recorded_key(host: str, kind: str, root: Path | None = None) -> str | None:
    """The key recorded for `host`, or None (never applied, or an unreadable record)."""
    _check(host, kind)
    path = key_record_path(host, kind, root)
    if not path.is_file():
        return None
    try:
        record: KeyRecord = load_record(path, KeyRecord)
    except (OSError, ValueError, ValidationError):
        return None  # a broken record is as good as none: the next apply rewrites it
    return record.public_key


def recorded_keys(hosts: list[str], kind: str, root: Path | None = None) -> dict[str, str]:
    """host -> recorded key, for the hosts that have one."""
    found = {host: recorded_key(host, kind, root) for host in hosts}
    return {host: key for host, key in found.items() if key}


def record(host: str, kind: str, text: str, root: Path | None = None) -> bool:
    """Record the key read from `host`; True when it differs from what was recorded."""
    _check(host, kind)
    key = normalise(text)
    if recorded_key(host, kind, root) == key:
        return False
    write_key_record(host, kind, key, root=root)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regionhus.backup.keys")
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="record a public key read from a host")
    rec.add_argument("--host", required=True)
    rec.add_argument("--kind", required=True, choices=KINDS)
    rec.add_argument("--key", required=True, help="the public key line as read on the host")
    args = parser.parse_args(argv)
    try:
        changed = record(args.host, args.kind, args.key)
    except ValueError as exc:
        print(f"regionhus.backup.keys: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"changed": changed, "path": str(key_record_path(args.host, args.kind))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
