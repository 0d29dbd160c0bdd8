"""pyinfra inventory: the same hosts and groups as the Ansible plugin.

    pyinfra inventory/pyinfra_inventory.py deploys/base.py

Every module-level list is a pyinfra group of (host name, host data) pairs.
REGIONHUS_INVENTORY (auto | embedded | netbox) picks the source, as for Ansible.
"""

from regionhus.inventory.engine_formats import pyinfra_groups

globals().update(pyinfra_groups())
