"""The inventory in the shape pyinfra's inventory file wants (Ansible's plugin,
plugins/inventory/regionhus.py, reads `Inventory` directly)."""

from __future__ import annotations

from regionhus.inventory.build import REGIONAL_GROUP, Inventory, load_inventory


def pyinfra_groups(inventory: Inventory | None = None) -> dict[str, list[tuple[str, dict]]]:
    """pyinfra groups: name -> [(host, data)], data = host vars + its groups' vars."""
    inventory = inventory or load_inventory()
    # As in Ansible: the region's data only on the shared hosts (Inventory.group_vars).
    by_group = inventory.group_vars()
    regional = {**by_group["all"], **by_group[REGIONAL_GROUP]}
    data = {
        h.name: {
            **(regional if REGIONAL_GROUP in inventory.groups_of(h) else by_group["all"]),
            **inventory.hostvars(h),
        }
        for h in inventory.hosts
    }
    # pyinfra drops empty groups and adds one named after the inventory file itself.
    return {
        group: [(name, data[name]) for name in members]
        for group, members in inventory.groups().items()
    }
