"""The shapes each engine wants, from one Inventory."""

from __future__ import annotations

from typing import Any

from regionhus.inventory.build import Inventory, load_inventory


def pyinfra_groups(inventory: Inventory | None = None) -> dict[str, list[tuple[str, dict]]]:
    """pyinfra groups: name -> [(host, data)], data = host vars + the region's vars."""
    inventory = inventory or load_inventory()
    common = inventory.global_vars()
    data = {h.name: {**common, **inventory.hostvars(h)} for h in inventory.hosts}
    # pyinfra drops empty groups and adds one named after the inventory file itself.
    return {
        group: [(name, data[name]) for name in members]
        for group, members in inventory.groups().items()
    }


def ansible_list(inventory: Inventory) -> dict[str, Any]:
    """What `ansible-inventory --list` prints for this inventory (used to compare)."""
    hostvars = {h.name: inventory.hostvars(h) for h in inventory.hosts}
    result: dict[str, Any] = {"_meta": {"hostvars": hostvars}}
    for group, members in inventory.groups().items():
        result[group] = {"hosts": members}
    return result
