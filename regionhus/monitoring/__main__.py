"""`python -m regionhus.monitoring targets`: the monitoring role's input as JSON.

Run by playbooks/monitoring.yml on the control machine (like regionhus.backup.keys),
so the role renders what the inventory holds now, whatever the scope of the run.
"""

from __future__ import annotations

import json
import sys

from regionhus.inventory import load_inventory
from regionhus.monitoring.targets import monitoring_vars


def main(argv: list[str]) -> int:
    if argv[1:] != ["targets"]:
        print("usage: python -m regionhus.monitoring targets", file=sys.stderr)
        return 64
    print(json.dumps(monitoring_vars(load_inventory()), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
