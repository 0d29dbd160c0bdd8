"""Runs ON a domain controller (python3 with python3-samba), fed on stdin by
`regionhus kommune`; not imported by regionhus itself.

    python3 - dump  <OU DN>   the OU's objects, allow-listed attributes only (JSON)
    python3 - count <OU DN>   objects under the OU by kind (JSON)
    python3 - delete <OU DN>  delete the OU and everything under it (JSON count)

Only attributes on ALLOWED are read: no password hash, key or secret can be in the
output, whatever the schema holds. A DN-valued attribute pointing outside the OU
(a membership in another municipality's or a domain group) is left out and counted.
"""

import base64
import json
import sys
from typing import Any

import ldb
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB

ALLOWED = [
    "objectClass",
    "cn",
    "ou",
    "name",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "givenName",
    "sn",
    "mail",
    "description",
    "title",
    "department",
    "telephoneNumber",
    "employeeType",
    "userAccountControl",
    "groupType",
    "member",
    "memberOf",
    "managedBy",
    "dNSHostName",
    "operatingSystem",
    "whenCreated",
    "whenChanged",
    "objectGUID",
    "objectSid",
]
DN_VALUED = {"member", "memberOf", "managedBy"}


def value(attr: str, raw: bytes) -> str:
    if attr == "objectGUID":
        return str(ndr_unpack(security.GUID, raw)) if hasattr(security, "GUID") else raw.hex()
    if attr == "objectSid":
        return str(ndr_unpack(security.dom_sid, raw))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode()


def main() -> None:
    mode, ou = sys.argv[1], sys.argv[2]
    lp = LoadParm()
    lp.load_default()
    db = SamDB(url="/var/lib/samba/private/sam.ldb", session_info=system_session(), lp=lp)
    try:
        res = db.search(base=ou, scope=ldb.SCOPE_SUBTREE, attrs=ALLOWED)
    except ldb.LdbError as exc:
        if exc.args[0] == ldb.ERR_NO_SUCH_OBJECT:
            print(json.dumps({"exists": False}))
            return
        raise
    inside = ("," + ou).lower()
    objects: list[dict[str, Any]] = []
    outside = 0
    for msg in res:
        dn = str(msg.dn)
        attrs = {}
        for attr in ALLOWED:
            if attr not in msg:
                continue
            values = [value(attr, bytes(v)) for v in msg[attr]]
            if attr in DN_VALUED:
                kept = [v for v in values if v.lower().endswith(inside) or v.lower() == ou.lower()]
                outside += len(values) - len(kept)
                values = kept
            if values:
                attrs[attr] = values
        objects.append({"dn": dn, "attrs": attrs})
    objects.sort(key=lambda o: (len(o["dn"].split(",")), o["dn"].lower()))
    if mode == "dump":
        print(json.dumps({"exists": True, "objects": objects, "outside_refs": outside}))
        return
    kinds = {"user": 0, "group": 0, "computer": 0, "organizationalUnit": 0}
    for o in objects:
        classes = o["attrs"].get("objectClass", [])
        for kind in ("computer", "user", "group", "organizationalUnit"):
            if kind in classes:
                kinds[kind] += 1
                break
    if mode == "count":
        print(json.dumps({"exists": True, "objects": len(objects), "kinds": kinds}))
    elif mode == "delete":
        db.delete(ou, ["tree_delete:1"])
        print(json.dumps({"exists": False, "deleted": len(objects), "kinds": kinds}))


main()
