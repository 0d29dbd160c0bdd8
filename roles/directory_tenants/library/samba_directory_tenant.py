#!/usr/bin/python3
"""Reconcile one tenant's part of a Samba AD: OU tree, users, groups, delegation."""

from __future__ import annotations

DOCUMENTATION = r"""
module: samba_directory_tenant
short_description: One tenant's OU tree, accounts, groups and delegated rights in Samba AD
description:
  - Runs on a Samba AD DC and works on its local database (C(sam.ldb)) through Samba's
    Python bindings, in one call per tenant: it reads everything first and changes only
    what differs, so a repeated run reports no change.
  - With I(state=present) it creates the OU and its sub-OUs, the declared users (the
    password is set only when an account is created), the groups with their members, and
    the delegation ACEs for the tenant's admin group.
  - Declared users are marked (C(employeeType=regionhus-operator)). A marked account under
    the users OU that is no longer declared (an operator removed from kommuner/) is
    disabled, and the day it was disabled is written to its description; the module
    returns every such account in I(removed). Accounts the tenant made itself are never
    touched in state present.
  - With I(state=disabled) (the tenant has left) it creates nothing, disables every user
    account under the tenant's OU and removes the delegation ACEs of I(delegate_group)
    from the OU, if the OU exists. An OU is never deleted by this module.
  - Supports check mode and diff mode (a list of the changes that are or would be made).
options:
  ou:
    description: The tenant's OU relative to the domain DN, e.g. C(OU=Tinn,OU=Kommuner).
    type: str
    required: true
  state:
    description: C(present) reconciles everything; C(disabled) only disables accounts.
    type: str
    choices: [present, disabled]
    default: present
  sub_ous:
    description: OUs created under the tenant's OU (users go to the first, groups to the second).
    type: list
    elements: str
    default: [Users, Groups, Computers]
  users_ou:
    description: Sub-OU for the declared users.
    type: str
    default: Users
  groups_ou:
    description: Sub-OU for the declared groups.
    type: str
    default: Groups
  upn_suffix:
    description: Suffix of the users' userPrincipalName (the realm, lower case).
    type: str
    required: true
  users:
    description: Accounts of the tenant (enabled); others in the OU are left alone.
    type: list
    elements: dict
    default: []
    suboptions:
      username: {type: str, required: true, description: sAMAccountName.}
      name: {type: str, required: true, description: Display name (given name and surname).}
      email: {type: str, default: "", description: Mail address.}
  initial_password:
    description: Password set when a declared user is created (never changed later).
    type: str
    no_log: true
    required: true
  groups:
    description: Global security groups of the tenant.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {type: str, required: true, description: Group name (sAMAccountName and CN).}
      description: {type: str, default: "", description: Group description.}
      members:
        description: Members by sAMAccountName; null leaves membership to the tenant.
        type: list
        elements: str
      protected:
        description: Deny the delegated group any change to this group (its own admin group).
        type: bool
        default: false
  delegate_group:
    description: Group that may create, change, disable and delete users and groups.
    type: str
  delegate_on:
    description: DN (relative to the domain) the delegation applies to; default the tenant OU.
    type: str
  url:
    description: The DC's local database.
    type: str
    default: /var/lib/samba/private/sam.ldb
"""

EXAMPLES = r"""
- name: Tinn's part of the directory
  samba_directory_tenant:
    ou: OU=Tinn,OU=Kommuner
    upn_suffix: ad.example.internal
    initial_password: "{{ vault_password }}"
    users:
      - {username: tin.siri, name: Siri Bakke, email: siri@tinn.example}
    groups:
      - {name: tinn-admins, members: [tin.siri], protected: true}
      - {name: tinn-vdi-users}
    delegate_group: tinn-admins
"""

RETURN = r"""
changes:
  description: What was (or in check mode would be) changed, one line each.
  type: list
  elements: str
  returned: always
members:
  description: Members (sAMAccountName) of each declared group after the run.
  type: dict
  returned: always
ou_exists:
  description: Whether the tenant's OU exists after the run.
  type: bool
  returned: always
removed:
  description: Marked operator accounts no longer declared, with the day they were disabled.
  type: list
  elements: dict
  returned: always
"""

import datetime  # noqa: E402
import re  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

UF_ACCOUNTDISABLE = 0x2
# Marks the accounts this module made for declared operators, so one removed from
# kommuner/ can be told apart from the accounts the municipality makes itself.
MARKER_ATTR = "employeeType"
MARKER = "regionhus-operator"
REMOVED_NOTE = "regionhus: fjernet som operatør {day}; kontoen er sperret"
REMOVED_DAY = re.compile(r"regionhus: fjernet som operatør (\d{4}-\d{2}-\d{2})")
CLASS_USER = "bf967aba-0de6-11d0-a285-00aa003049e2"
CLASS_GROUP = "bf967a9c-0de6-11d0-a285-00aa003049e2"


def delegation_aces(sid: str) -> list[str]:
    """Create/delete users and groups in the OU and below; full control over them."""
    return [
        f"(OA;CI;CCDC;{CLASS_USER};;{sid})",
        f"(OA;CI;CCDC;{CLASS_GROUP};;{sid})",
        f"(OA;CIIO;GA;;{CLASS_USER};{sid})",
        f"(OA;CIIO;GA;;{CLASS_GROUP};{sid})",
    ]


def protect_aces(sid: str) -> list[str]:
    """The delegated group may not change its own group (members, ACL, owner) or delete it."""
    return [f"(D;;WPWDWOSD;;;{sid})"]


def split_rdns(dn: str) -> list[str]:
    """The RDNs of a DN, split at unescaped commas only (RFC 4514: an OU named
    "A\\,B" is one RDN, not two)."""
    parts, current, escaped = [], "", False
    for char in dn:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            current, escaped = current + char, True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


class Tenant:
    def __init__(self, module: AnsibleModule) -> None:
        import ldb
        from samba.auth import system_session
        from samba.dcerpc import security
        from samba.ndr import ndr_pack, ndr_unpack
        from samba.param import LoadParm
        from samba.samdb import SamDB

        self.ldb, self.security = ldb, security
        self.ndr_pack, self.ndr_unpack = ndr_pack, ndr_unpack
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        lp = LoadParm()
        lp.load_default()
        self.db = SamDB(url=self.p["url"], session_info=system_session(), lp=lp)
        self.base = str(self.db.domain_dn())
        self.domain_sid = security.dom_sid(self.db.get_domain_sid())
        self.changes: list[str] = []
        self.planned: set[str] = set()  # DNs that check mode pretends exist

    # --- reading ------------------------------------------------------------------
    def dn(self, relative: str) -> str:
        return f"{relative},{self.base}"

    def exists(self, dn: str) -> bool:
        if dn in self.planned:
            return True
        try:
            return len(self.db.search(base=dn, scope=self.ldb.SCOPE_BASE, attrs=["dn"])) == 1
        except self.ldb.LdbError as exc:
            if exc.args[0] == self.ldb.ERR_NO_SUCH_OBJECT:
                return False
            raise

    def find(self, name: str, attrs: list[str]):
        res = self.db.search(
            base=self.base,
            scope=self.ldb.SCOPE_SUBTREE,
            expression=f"(sAMAccountName={self.ldb.binary_encode(name)})",
            attrs=attrs,
        )
        return res[0] if len(res) else None

    @staticmethod
    def first(msg, attr: str) -> str:
        return str(msg[attr][0]) if attr in msg else ""

    def sid_of(self, name: str) -> str | None:
        msg = self.find(name, ["objectSid"])
        if msg is None:
            return None
        return str(self.ndr_unpack(self.security.dom_sid, msg["objectSid"][0]))

    # --- changing -----------------------------------------------------------------
    def change(self, line: str, action) -> None:
        self.changes.append(line)
        if not self.check:
            action()

    def ensure_ou(self, relative: str) -> None:
        parts = split_rdns(relative)
        for i in range(len(parts) - 1, -1, -1):
            dn = self.dn(",".join(parts[i:]))
            if not self.exists(dn):
                self.change(
                    f"+ ou {dn}",
                    lambda dn=dn: self.db.add({"dn": dn, "objectClass": "organizationalUnit"}),
                )
                self.planned.add(dn)

    def modify(self, dn: str, attr: str, values: list[str], flag) -> None:
        msg = self.ldb.Message()
        msg.dn = self.ldb.Dn(self.db, dn)
        msg[attr] = self.ldb.MessageElement(values, flag, attr)
        self.db.modify(msg)

    def ensure_user(self, user: dict, ou: str) -> None:
        username = user["username"]
        given, _, surname = user["name"].rpartition(" ")
        wanted = {
            "displayName": user["name"],
            "givenName": given or user["name"],
            "sn": surname,
            "mail": user["email"] or "",
            "userPrincipalName": f"{username}@{self.p['upn_suffix']}",
            MARKER_ATTR: MARKER,
        }
        attrs = [*wanted, "userAccountControl", "description"]
        msg = self.find(username, attrs)
        users_dn = self.dn(ou)
        if msg is None:

            def create() -> None:
                self.db.newuser(
                    username,
                    self.p["initial_password"],
                    useusernameascn=True,
                    userou=ou,
                    givenname=wanted["givenName"],
                    surname=surname or None,
                    mailaddress=wanted["mail"] or None,
                )
                created = self.find(username, ["dn"])
                for attr, value in wanted.items():
                    if value:
                        self.modify(str(created.dn), attr, [value], self.ldb.FLAG_MOD_REPLACE)
                self.db.enable_account(f"(sAMAccountName={self.ldb.binary_encode(username)})")

            self.change(f"+ user {username} in {users_dn}", create)
            return
        dn = str(msg.dn)
        if not dn.lower().endswith("," + users_dn.lower()):
            self.module.fail_json(
                msg=f"account {username} exists at {dn}, outside {users_dn}; move or rename "
                "it by hand (accounts are never moved by an apply)",
                changes=self.changes,
            )
        for attr, value in wanted.items():
            current = self.first(msg, attr)
            if current != value:
                flag = self.ldb.FLAG_MOD_REPLACE if value else self.ldb.FLAG_MOD_DELETE
                vals = [value] if value else []
                if not value and not current:
                    continue
                self.change(
                    f"~ user {username}: {attr} {current!r} -> {value!r}",
                    lambda a=attr, v=vals, f=flag: self.modify(dn, a, v, f),
                )
        if REMOVED_DAY.match(self.first(msg, "description")):
            # Declared again: the note of an earlier removal no longer holds.
            self.change(
                f"~ user {username}: clear removal note",
                lambda: self.modify(dn, "description", [], self.ldb.FLAG_MOD_DELETE),
            )
        if int(self.first(msg, "userAccountControl") or 0) & UF_ACCOUNTDISABLE:
            self.change(
                f"~ user {username}: enable",
                lambda: self.db.enable_account(
                    f"(sAMAccountName={self.ldb.binary_encode(username)})"
                ),
            )

    def ensure_group(self, group: dict, ou: str) -> list[str]:
        name = group["name"]
        msg = self.find(name, ["member", "description"])
        current: set[str] = set()
        if msg is None:
            self.change(
                f"+ group {name} in {self.dn(ou)}",
                lambda: self.db.newgroup(
                    name, groupou=ou, description=group["description"] or None
                ),
            )
            group_dn = f"CN={name},{self.dn(ou)}"
        else:
            group_dn = str(msg.dn)
            for member_dn in msg.get("member", []):
                res = self.db.search(
                    base=str(member_dn), scope=self.ldb.SCOPE_BASE, attrs=["sAMAccountName"]
                )
                current.add(self.first(res[0], "sAMAccountName") or str(member_dn))
            if group["description"] and self.first(msg, "description") != group["description"]:
                self.change(
                    f"~ group {name}: description",
                    lambda: self.modify(
                        group_dn, "description", [group["description"]], self.ldb.FLAG_MOD_REPLACE
                    ),
                )
        if group["members"] is None:
            return sorted(current)
        wanted = set(group["members"])
        for member in sorted(wanted - current):
            self.change(
                f"+ member {member} of {name}",
                lambda m=member: self.modify(
                    group_dn, "member", [str(self.find(m, ["dn"]).dn)], self.ldb.FLAG_MOD_ADD
                ),
            )
        for member in sorted(current - wanted):
            self.change(
                f"- member {member} of {name}",
                lambda m=member: self.modify(
                    group_dn, "member", [str(self.find(m, ["dn"]).dn)], self.ldb.FLAG_MOD_DELETE
                ),
            )
        return sorted(wanted)

    def ensure_aces(self, dn: str, aces: list[str], what: str) -> None:
        """Add explicit ACEs missing from dn's DACL (compared in Samba's own SDDL form)."""
        control = [f"sd_flags:1:{self.security.SECINFO_DACL}"]
        current: set[str] = set()
        if dn not in self.planned:
            res = self.db.search(
                base=dn, scope=self.ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"], controls=control
            )
            sd = self.ndr_unpack(self.security.descriptor, res[0]["nTSecurityDescriptor"][0])
            for ace in sd.dacl.aces:
                if ace.flags & self.security.SEC_ACE_FLAG_INHERITED_ACE:
                    continue
                single = self.security.descriptor()
                single.dacl_add(ace)
                current.add(self.canonical(single.as_sddl(self.domain_sid)))
        missing = [a for a in aces if self.canonical_ace(a) not in current]
        if not missing:
            return

        def write() -> None:
            res = self.db.search(
                base=dn, scope=self.ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"], controls=control
            )
            sd = self.ndr_unpack(self.security.descriptor, res[0]["nTSecurityDescriptor"][0])
            sddl = sd.as_sddl(self.domain_sid)
            at = sddl.find("(")
            new = sddl[:at] + "".join(missing) + sddl[at:] if at >= 0 else sddl + "".join(missing)
            desc = self.security.descriptor.from_sddl(new, self.domain_sid)
            msg = self.ldb.Message()
            msg.dn = self.ldb.Dn(self.db, dn)
            msg["nTSecurityDescriptor"] = self.ldb.MessageElement(
                self.ndr_pack(desc), self.ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor"
            )
            self.db.modify(msg, controls=control)

        self.change(f"+ acl {what} on {dn}: {''.join(missing)}", write)

    @staticmethod
    def canonical(sddl: str) -> str:
        return sddl[sddl.find("(") :].upper() if "(" in sddl else ""

    def canonical_ace(self, ace: str) -> str:
        desc = self.security.descriptor.from_sddl("D:" + ace, self.domain_sid)
        return self.canonical(desc.as_sddl(self.domain_sid))

    def disable_removed(self, users_dn: str, declared: set[str]) -> list[dict]:
        """Disable marked operator accounts no longer declared; report all of them."""
        if not self.exists(users_dn) or users_dn in self.planned:
            return []
        res = self.db.search(
            base=users_dn,
            scope=self.ldb.SCOPE_SUBTREE,
            expression=f"(&(objectClass=user)({MARKER_ATTR}={MARKER}))",
            attrs=["sAMAccountName", "userAccountControl", "description", "displayName"],
        )
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        removed = []
        for msg in res:
            name = self.first(msg, "sAMAccountName")
            if name.lower() in declared:
                continue
            noted = REMOVED_DAY.match(self.first(msg, "description"))
            day = noted.group(1) if noted else today
            dn = str(msg.dn)
            if int(self.first(msg, "userAccountControl") or 0) & UF_ACCOUNTDISABLE == 0:
                self.change(
                    f"~ user {name}: disable (removed from the declared operators)",
                    lambda n=name: self.db.disable_account(
                        f"(sAMAccountName={self.ldb.binary_encode(n)})"
                    ),
                )
            if not noted:
                self.change(
                    f"~ user {name}: note removal {day}",
                    lambda d=dn, v=day: self.modify(
                        d, "description", [REMOVED_NOTE.format(day=v)], self.ldb.FLAG_MOD_REPLACE
                    ),
                )
            removed.append(
                {"username": name, "name": self.first(msg, "displayName"), "disabled_on": day}
            )
        return sorted(removed, key=lambda r: r["username"])

    def remove_aces(self, dn: str, sid: str, what: str) -> None:
        """Remove the explicit ACEs that name `sid` from dn's DACL."""
        control = [f"sd_flags:1:{self.security.SECINFO_DACL}"]
        res = self.db.search(
            base=dn, scope=self.ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"], controls=control
        )
        sd = self.ndr_unpack(self.security.descriptor, res[0]["nTSecurityDescriptor"][0])
        trustee = self.security.dom_sid(sid)
        found = [
            ace
            for ace in sd.dacl.aces
            if not ace.flags & self.security.SEC_ACE_FLAG_INHERITED_ACE and ace.trustee == trustee
        ]
        if not found:
            return

        def write() -> None:
            # dacl_del removes the trustee's ACEs but skips the one after each it
            # removes (Samba 4.17): repeat until none is left.
            for _ in range(len(found)):
                if not any(ace.trustee == trustee for ace in sd.dacl.aces):
                    break
                sd.dacl_del(trustee)
            msg = self.ldb.Message()
            msg.dn = self.ldb.Dn(self.db, dn)
            msg["nTSecurityDescriptor"] = self.ldb.MessageElement(
                self.ndr_pack(sd), self.ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor"
            )
            self.db.modify(msg, controls=control)

        self.change(f"- acl {what} on {dn}: {len(found)} entries of {sid}", write)

    def disable_all(self, ou_dn: str) -> None:
        res = self.db.search(
            base=ou_dn,
            scope=self.ldb.SCOPE_SUBTREE,
            expression="(&(objectCategory=person)(objectClass=user))",
            attrs=["sAMAccountName", "userAccountControl"],
        )
        for msg in res:
            if int(self.first(msg, "userAccountControl") or 0) & UF_ACCOUNTDISABLE:
                continue
            name = self.first(msg, "sAMAccountName")
            self.change(
                f"~ user {name}: disable",
                lambda n=name: self.db.disable_account(
                    f"(sAMAccountName={self.ldb.binary_encode(n)})"
                ),
            )

    # --- the whole tenant ---------------------------------------------------------
    def run(self) -> dict:
        p = self.p
        ou = p["ou"]
        ou_dn = self.dn(ou)
        members: dict[str, list[str]] = {}
        if p["state"] == "disabled":
            if self.exists(ou_dn):
                self.disable_all(ou_dn)
                sid = self.sid_of(p["delegate_group"]) if p["delegate_group"] else None
                if sid is not None:
                    target = self.dn(p["delegate_on"] or ou)
                    self.remove_aces(target, sid, "delegation")
                for group in p["groups"]:
                    msg = self.find(group["name"], ["member"])
                    if msg is not None:
                        members[group["name"]] = sorted(
                            self.first(
                                self.db.search(base=str(m), scope=self.ldb.SCOPE_BASE)[0],
                                "sAMAccountName",
                            )
                            for m in msg.get("member", [])
                        )
            return {"members": members, "ou_exists": self.exists(ou_dn), "removed": []}

        self.ensure_ou(ou)
        for sub in p["sub_ous"]:
            self.ensure_ou(f"OU={sub},{ou}")
        users_ou, groups_ou = f"OU={p['users_ou']},{ou}", f"OU={p['groups_ou']},{ou}"
        for user in p["users"]:
            self.ensure_user(user, users_ou)
        declared = {u["username"].lower() for u in p["users"]}
        removed = self.disable_removed(self.dn(users_ou), declared)
        for group in p["groups"]:
            members[group["name"]] = self.ensure_group(group, groups_ou)
        if p["delegate_group"]:
            target = p["delegate_on"] or ou
            self.ensure_ou(target)
            sid = self.sid_of(p["delegate_group"])
            if sid is None and self.check:
                sid = "S-1-5-21-0-0-0-0"  # not created yet: check mode shows the ACEs to add
                self.changes.append(f"+ acl delegation to {p['delegate_group']} on {target}")
            elif sid is None:
                self.module.fail_json(msg=f"delegate group {p['delegate_group']} not found")
            else:
                self.ensure_aces(self.dn(target), delegation_aces(sid), "delegation")
                for group in p["groups"]:
                    if group["protected"]:
                        self.ensure_aces(
                            f"CN={group['name']},{self.dn(groups_ou)}",
                            protect_aces(sid),
                            f"protect {group['name']}",
                        )
        return {"members": members, "ou_exists": True, "removed": removed}


def main() -> None:
    user_spec = {
        "username": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "email": {"type": "str", "default": ""},
    }
    group_spec = {
        "name": {"type": "str", "required": True},
        "description": {"type": "str", "default": ""},
        "members": {"type": "list", "elements": "str"},
        "protected": {"type": "bool", "default": False},
    }
    module = AnsibleModule(
        argument_spec={
            "ou": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "disabled"], "default": "present"},
            "sub_ous": {
                "type": "list",
                "elements": "str",
                "default": ["Users", "Groups", "Computers"],
            },
            "users_ou": {"type": "str", "default": "Users"},
            "groups_ou": {"type": "str", "default": "Groups"},
            "upn_suffix": {"type": "str", "required": True},
            "users": {"type": "list", "elements": "dict", "default": [], "options": user_spec},
            "initial_password": {"type": "str", "required": True, "no_log": True},
            "groups": {"type": "list", "elements": "dict", "default": [], "options": group_spec},
            "delegate_group": {"type": "str"},
            "delegate_on": {"type": "str"},
            "url": {"type": "str", "default": "/var/lib/samba/private/sam.ldb"},
        },
        supports_check_mode=True,
    )
    try:
        tenant = Tenant(module)
        result = tenant.run()
    except ImportError as exc:
        module.fail_json(msg=f"Samba's Python bindings are missing (python3-samba): {exc}")
    except Exception as exc:  # ldb.LdbError and friends: report with the changes so far
        module.fail_json(msg=f"{type(exc).__name__}: {exc}", exception=traceback.format_exc())
    changes = tenant.changes
    module.exit_json(
        changed=bool(changes),
        changes=changes,
        diff={"prepared": "\n".join(changes) + "\n"} if changes else {},
        **result,
    )


if __name__ == "__main__":
    main()
