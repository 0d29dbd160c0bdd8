"""How the engines reach a host: the variables each engine gets from the transport.

One source of truth (regionhus.transport): the lab's ssh config for the embedded lab
region; the operator's own ssh, the bastion and the pinned host keys for NetBox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from regionhus.transport import Transport, transport_for

if TYPE_CHECKING:
    from regionhus.inventory.build import Inventory


def _transport(inventory: Inventory) -> Transport:
    # One per inventory (kept on the instance): building it writes the region's ssh
    # config once per run, not once per host.
    cached = inventory.__dict__.get("_regionhus_transport")
    if cached is None:
        cached = transport_for(inventory)
        inventory.__dict__["_regionhus_transport"] = cached
    return cached


def connection_vars(inventory: Inventory) -> dict[str, Any]:
    """Ansible's and pyinfra's connection variables (each ignores the other's)."""
    transport = _transport(inventory)
    return {**transport.ansible_vars(), **transport.pyinfra_vars()}
