"""The region's hosts, from NetBox or the embedded default, for Ansible and pyinfra."""

from regionhus.inventory.build import Inventory, group_name, load_inventory
from regionhus.inventory.hosts import REGION, Host, HostSet, Network, Role

__all__ = [
    "REGION",
    "Host",
    "HostSet",
    "Inventory",
    "Network",
    "Role",
    "group_name",
    "load_inventory",
]
