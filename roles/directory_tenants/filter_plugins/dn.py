"""`dn_value`: a municipality's name as the value of an RDN (OU=<value>).

The rule lives in regionhus.names (unit-tested, shared with the inventory's directory
names), so the OU the role creates is the OU the rest of the region refers to.
"""

from __future__ import annotations

from regionhus.names import escape_dn_value, normal_name


def dn_value(value: str) -> str:
    return escape_dn_value(normal_name(str(value)))


class FilterModule:
    def filters(self) -> dict:
        return {"dn_value": dn_value}
