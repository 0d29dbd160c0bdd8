"""The inventory in the shape pyinfra's inventory file wants (Ansible's plugin,
plugins/inventory/regionhus.py, reads `Inventory` directly)."""

from __future__ import annotations

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
