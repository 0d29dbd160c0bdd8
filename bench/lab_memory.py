"""Memory of the running lab, per host and in all (read-only: nothing is started or
stopped). PSS of every process of each container, as bench/lab_up.py measures it, plus
the machine's own view (`MemAvailable`).

Run as root from the repository:  .venv/bin/python bench/lab_memory.py
Prints a Markdown table for bench/lab.md.
"""

from __future__ import annotations

from pathlib import Path

from lab_up import host_pss_mib  # bench/ is the script's directory

from regionhus.lab.inventory import lab_inventory


def meminfo_mib(key: str) -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def main() -> None:
    hosts = lab_inventory().hosts
    rows = [(h.name, ", ".join(h.roles), host_pss_mib(h.name)) for h in hosts]
    print("| host | roles | PSS MiB |\n|---|---|---|")
    for name, roles, mib in sorted(rows, key=lambda r: (r[1], r[0])):
        print(f"| {name} | {roles} | {mib:.1f} |")
    total = sum(mib for _, _, mib in rows)
    print(f"| **all {len(rows)} hosts** | | **{total:.0f}** |")
    by_role: dict[str, list[float]] = {}
    for _, roles, mib in rows:
        by_role.setdefault(roles, []).append(mib)
    print()
    for roles, values in sorted(by_role.items()):
        print(
            f"- {roles}: {len(values)} host(s), {sum(values) / len(values):.0f} MiB each on average"
        )
    print(
        f"- machine: {meminfo_mib('MemTotal'):.0f} MiB total, "
        f"{meminfo_mib('MemAvailable'):.0f} MiB available"
    )


if __name__ == "__main__":
    main()
