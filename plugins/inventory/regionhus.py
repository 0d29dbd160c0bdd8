"""Ansible inventory plugin: the region's hosts from the regionhus loader.

Ansible and pyinfra read the same `regionhus.inventory.load_inventory`, so both
engines see the same hosts, groups and variables.
"""

from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

DOCUMENTATION = r"""
name: regionhus
short_description: Hosts of the region from NetBox or the embedded default
description:
  - Builds groups per municipality (kommune_<slug>), per role (role_<role>), per site
    (site_<site>) and per tag (tag_<tag>); shared hosts of the regional house are in
    the group C(regional).
  - Every host gets regionhus_host, regionhus_kommune (its municipality's choices and
    directory names) and regionhus_backup_jobs; every host sees the region-wide settings
    (regionhus_region, regionhus_directory, regionhus_backup_server, regionhus_today).
  - The region's data (regionhus_kommuner, the full regionhus_directory,
    regionhus_backup_repositories) is a variable of the group C(regional) only, the
    shared hosts that act on every municipality; it is never copied onto each host.
options:
  plugin:
    description: Marks this file as a regionhus inventory.
    required: true
    choices: [regionhus]
  source:
    description: >-
      embedded (the checked-in lab region), netbox, or auto (NetBox when configured,
      else embedded). REGIONHUS_INVENTORY overrides C(auto).
    type: str
    default: auto
    choices: [auto, embedded, netbox]
"""


class InventoryModule(BaseInventoryPlugin):
    NAME = "regionhus"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("regionhus.yml", "regionhus.yaml"))

    def parse(self, inventory, loader, path, cache=True):  # type: ignore[no-untyped-def]
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        from regionhus.errors import RegionhusError
        from regionhus.inventory import load_inventory

        source = self.get_option("source")
        root = Path(path).resolve().parent.parent
        try:
            region_inventory = load_inventory(root, None if source == "auto" else source)
        except RegionhusError as exc:
            raise AnsibleParserError(str(exc)) from exc
        for host in region_inventory.hosts:
            self.inventory.add_host(host.name)
            for name, value in region_inventory.hostvars(host).items():
                self.inventory.set_variable(host.name, name, value)
        for group, members in region_inventory.groups().items():
            self.inventory.add_group(group)
            for member in members:
                self.inventory.add_child(group, member)
        # Region-wide data on the groups, never copied onto each host: see group_vars().
        for group, variables in region_inventory.group_vars().items():
            self.inventory.add_group(group)
            for name, value in variables.items():
                self.inventory.set_variable(group, name, value)
