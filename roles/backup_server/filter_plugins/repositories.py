"""Filter that turns the region's repositories into the items of `borg_server_repositories`
(one call for every repository), each with its rendered authorized_keys.

Plain Python rather than a template per repository: at national scale (357
municipalities) one function call is both faster and readable, and the unit tests
run it without a backup server. The lines are those the role's template wrote before
(`var/lib/regionhus-backup/home/ssh/authorized_keys.j2`), byte for byte.
"""

from __future__ import annotations

from typing import Any


def authorized_keys(repo: dict[str, Any], root: str) -> str:
    """One repository's authorized_keys: each client with a recorded key may only run
    append-only `borg serve` on this repository, from its own address; none when ended."""
    name, state = repo["name"], repo["state"]
    lines = [
        f"# Managed by regionhus (backup_server). Repository {name} ({state}).",
        "# Each key may only run append-only borg serve on this repository, from its own address.",
    ]
    if state == "active":
        clients = [c for c in repo.get("clients") or [] if c.get("public_key")]
        for client in sorted(clients, key=lambda c: c["host"]):
            command = (
                f"borg serve --append-only --restrict-to-repository {root}/{name} "
                f"--storage-quota {repo['quota_gb']}G"
            )
            lines.append(
                f'from="{client["address"]}",command="{command}",restrict '
                f"{str(client['public_key']).strip()} {client['host']}"
            )
    else:
        lines.append(f"# Backup has ended for {name}: the repository is kept, no client may write.")
    return "\n".join(lines) + "\n"


def borg_server_items(repositories: list[dict[str, Any]], root: str) -> list[dict[str, Any]]:
    """What the module needs of each repository: name, state, rendered authorized_keys."""
    return [
        {"name": r["name"], "state": r["state"], "authorized_keys": authorized_keys(r, root)}
        for r in repositories
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"backup_server_items": borg_server_items}
