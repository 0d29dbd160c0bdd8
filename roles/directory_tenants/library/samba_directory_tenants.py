#!/usr/bin/python3
"""Reconcile every tenant's part of a Samba AD in one call: OU trees, users, groups,
delegation, from one reading of the tenants' subtrees."""

from __future__ import annotations

DOCUMENTATION = r"""
module: samba_directory_tenants
short_description: Every tenant's OU tree, accounts, groups and delegated rights in Samba AD
description:
  - Runs on a Samba AD DC and works on its local database (C(sam.ldb)) through Samba's
    Python bindings, in one call for all tenants: it reads the subtrees that hold the
    tenants (e.g. C(OU=Kommuner) and C(OU=Region)) once, with every attribute and
    security descriptor it compares, then changes only what differs, so a repeated run
    reports no change and a run with nothing to change costs one search per subtree.
  - For a tenant with I(state=present) it creates the OU and its sub-OUs, the declared
    users (the password is set only when an account is created), the groups with their
    members, and the delegation ACEs for the tenant's admin group.
  - Declared users are marked (C(employeeType=regionhus-operator)). A marked account under
    a tenant's users OU that is no longer declared (an operator removed from kommuner/)
    is disabled, and the day it was disabled is written to its description; the module
    returns every such account in the tenant's I(removed). Accounts the tenant made
    itself are never touched in state present.
  - For a tenant with I(state=disabled) (it has left) it creates nothing, disables every
    user account under the tenant's OU and removes the delegation ACEs of
    I(delegate_group) from the OU, if the OU exists. An OU is never deleted by this module.
  - A tenant that cannot be reconciled (an account of its name outside its users OU) is
    reported and the others are still reconciled; the task then fails naming it.
  - Supports check mode and diff mode: the changes that are or would be made, under a
    header line per tenant, and one entry per changed tenant in I(results).
options:
  tenants:
    description: The tenants, reconciled in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      key:
        description: The tenant's name in the results (a municipality's slug, C(region)).
        type: str
        required: true
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
        description: OUs under the tenant's OU; default the module's I(sub_ous).
        type: list
        elements: str
      users:
        description: Accounts of the tenant (enabled); others in the OU are left alone.
        type: list
        elements: dict
        default: []
        suboptions:
          username: {type: str, required: true, description: sAMAccountName.}
          name: {type: str, required: true, description: Display name (given name and surname).}
          email: {type: str, default: "", description: Mail address.}
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
  sub_ous:
    description: Default sub-OUs of a tenant's OU.
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
  initial_password:
    description: Password set when a declared user is created (never changed later).
    type: str
    no_log: true
    required: true
  url:
    description: The DC's local database.
    type: str
    default: /var/lib/samba/private/sam.ldb
"""

EXAMPLES = r"""
- name: The region's and the municipalities' parts of the directory
  samba_directory_tenants:
    upn_suffix: ad.example.internal
    initial_password: "{{ vault_password }}"
    tenants:
      - key: tinn
        ou: OU=Tinn,OU=Kommuner
        users:
          - {username: tin.siri, name: Siri Bakke, email: siri@tinn.example}
        groups:
          - {name: tinn-admins, members: [tin.siri], protected: true}
          - {name: tinn-vdi-users}
        delegate_group: tinn-admins
"""

RETURN = r"""
changes:
  description: Every change made (or in check mode to be made), one line each, in order.
  type: list
  elements: str
  returned: always
tenants:
  description: >-
    Per tenant key: changes (its lines), members (sAMAccountName of each declared group
    after the run), ou_exists, removed (marked operator accounts no longer declared, with
    the day they were disabled), error (why it could not be reconciled, if so).
  type: dict
  returned: always
results:
  description: >-
    One entry per tenant that changed or failed (item label "<key> (<state>)", changed,
    failed, msg), shaped like a loop's item results, so a plan names each tenant the way
    it did when the role called the module once per tenant.
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
USER_ATTRS = ("displayName", "givenName", "sn", "mail", "userPrincipalName", MARKER_ATTR)
# Everything any comparison needs, read once per subtree.
READ_ATTRS = [
    "objectClass",
    "objectCategory",
    "sAMAccountName",
    "member",
    "description",
    "userAccountControl",
    "objectSid",
    "nTSecurityDescriptor",
    *USER_ATTRS,
]


class TenantError(Exception):
    """One tenant cannot be reconciled; the others still are."""


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


def header(key: str, state: str) -> str:
    """The item label of a tenant (the plan's attribution reads the key from it)."""
    return f"{key} ({state})"


class Directory:
    """The DC's database with the tenants' subtrees read once into memory.

    Lookups are answered from that reading; what the run itself created (or, in check
    mode, pretends to have created) and names outside the subtrees are looked up live.
    """

    def __init__(self, module: AnsibleModule, roots: list[str]) -> None:
        import ldb
        from samba.auth import system_session
        from samba.dcerpc import security
        from samba.ndr import ndr_pack, ndr_unpack
        from samba.param import LoadParm
        from samba.samdb import SamDB

        self.ldb, self.security = ldb, security
        self.ndr_pack, self.ndr_unpack = ndr_pack, ndr_unpack
        self.module = module
        self.check = module.check_mode
        lp = LoadParm()
        lp.load_default()
        self.db = SamDB(url=module.params["url"], session_info=system_session(), lp=lp)
        self.base = str(self.db.domain_dn())
        self.domain_sid = security.dom_sid(self.db.get_domain_sid())
        self.sd_control = [f"sd_flags:1:{security.SECINFO_DACL}"]
        self.planned: set[str] = set()  # DNs (casefolded) created, or pretended in check mode
        self.written: set[str] = set()  # DNs (casefolded) whose reading is stale
        self.roots = [self.key(self.dn(r)) for r in roots]
        self.objects: dict[str, object] = {}
        self.by_name: dict[str, object] = {}
        self.under: dict[str, list] = {}
        for root in roots:
            self._read(self.dn(root))

    # --- the one reading ------------------------------------------------------------
    def key(self, dn: str) -> str:
        return self.ldb.Dn(self.db, dn).get_casefold()

    def dn(self, relative: str) -> str:
        return f"{relative},{self.base}"

    def _read(self, root: str) -> None:
        try:
            res = self.db.search(
                base=root,
                scope=self.ldb.SCOPE_SUBTREE,
                attrs=READ_ATTRS,
                controls=self.sd_control,
            )
        except self.ldb.LdbError as exc:
            if exc.args[0] == self.ldb.ERR_NO_SUCH_OBJECT:
                return
            raise
        depth = len(split_rdns(self.key(root)))
        for msg in res:
            key = msg.dn.get_casefold()
            self.objects[key] = msg
            if "sAMAccountName" in msg:
                self.by_name[str(msg["sAMAccountName"][0]).lower()] = msg
            # Indexed under each ancestor up to the root: a tenant's users are a lookup.
            rdns = split_rdns(key)
            for i in range(1, len(rdns) - depth + 1):
                self.under.setdefault(",".join(rdns[i:]), []).append(msg)

    def _read_covers(self, key: str) -> bool:
        return any(key == r or key.endswith("," + r) for r in self.roots)

    # --- lookups --------------------------------------------------------------------
    def exists(self, dn: str) -> bool:
        key = self.key(dn)
        if key in self.planned or key in self.objects:
            return True
        if self._read_covers(key):
            return False
        try:
            return len(self.db.search(base=dn, scope=self.ldb.SCOPE_BASE, attrs=["dn"])) == 1
        except self.ldb.LdbError as exc:
            if exc.args[0] == self.ldb.ERR_NO_SUCH_OBJECT:
                return False
            raise

    def find(self, name: str):
        """The object with this sAMAccountName (from the reading, else searched live)."""
        msg = self.by_name.get(name.lower())
        if msg is not None and self.key(str(msg.dn)) not in self.written:
            return msg
        res = self.db.search(
            base=self.base,
            scope=self.ldb.SCOPE_SUBTREE,
            expression=f"(sAMAccountName={self.ldb.binary_encode(name)})",
            attrs=READ_ATTRS,
            controls=self.sd_control,
        )
        return res[0] if len(res) else None

    def name_of(self, member_dn) -> str:
        msg = self.objects.get(self.key(str(member_dn)))
        if msg is None:
            found = self.db.search(
                base=str(member_dn), scope=self.ldb.SCOPE_BASE, attrs=["sAMAccountName"]
            )
            msg = found[0]
        return self.first(msg, "sAMAccountName") or str(member_dn)

    def below(self, dn: str) -> list:
        """Objects in the subtree under dn, as read."""
        return self.under.get(self.key(dn), [])

    def descriptor(self, dn: str):
        key = self.key(dn)
        msg = self.objects.get(key)
        if msg is None or key in self.written or "nTSecurityDescriptor" not in msg:
            msg = self.db.search(
                base=dn,
                scope=self.ldb.SCOPE_BASE,
                attrs=["nTSecurityDescriptor"],
                controls=self.sd_control,
            )[0]
        return self.ndr_unpack(self.security.descriptor, msg["nTSecurityDescriptor"][0])

    @staticmethod
    def first(msg, attr: str) -> str:
        return str(msg[attr][0]) if attr in msg else ""

    def sid_of(self, name: str) -> str | None:
        msg = self.find(name)
        if msg is None or "objectSid" not in msg:
            return None
        return str(self.ndr_unpack(self.security.dom_sid, msg["objectSid"][0]))

    # --- writing --------------------------------------------------------------------
    def modify(self, dn: str, attr: str, values: list[str], flag) -> None:
        msg = self.ldb.Message()
        msg.dn = self.ldb.Dn(self.db, dn)
        msg[attr] = self.ldb.MessageElement(values, flag, attr)
        self.db.modify(msg)
        self.written.add(self.key(dn))

    def write_descriptor(self, dn: str, sd) -> None:
        msg = self.ldb.Message()
        msg.dn = self.ldb.Dn(self.db, dn)
        msg["nTSecurityDescriptor"] = self.ldb.MessageElement(
            self.ndr_pack(sd), self.ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor"
        )
        self.db.modify(msg, controls=self.sd_control)
        self.written.add(self.key(dn))


class Tenant:
    """One tenant reconciled against the shared reading."""

    def __init__(self, d: Directory, spec: dict, params: dict) -> None:
        self.d, self.ldb = d, d.ldb
        self.spec, self.p = spec, params
        self.check = d.check
        self.changes: list[str] = []

    def change(self, line: str, action) -> None:
        self.changes.append(line)
        if not self.check:
            action()

    def ensure_ou(self, relative: str) -> None:
        parts = split_rdns(relative)
        for i in range(len(parts) - 1, -1, -1):
            dn = self.d.dn(",".join(parts[i:]))
            if not self.d.exists(dn):
                self.change(
                    f"+ ou {dn}",
                    lambda dn=dn: self.d.db.add({"dn": dn, "objectClass": "organizationalUnit"}),
                )
                self.d.planned.add(self.d.key(dn))

    def ensure_user(self, user: dict, ou: str) -> None:
        d = self.d
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
        msg = d.find(username)
        users_dn = d.dn(ou)
        if msg is None:

            def create() -> None:
                d.db.newuser(
                    username,
                    self.p["initial_password"],
                    useusernameascn=True,
                    userou=ou,
                    givenname=wanted["givenName"],
                    surname=surname or None,
                    mailaddress=wanted["mail"] or None,
                )
                created = d.find(username)
                for attr, value in wanted.items():
                    if value:
                        d.modify(str(created.dn), attr, [value], self.ldb.FLAG_MOD_REPLACE)
                d.db.enable_account(f"(sAMAccountName={self.ldb.binary_encode(username)})")

            self.change(f"+ user {username} in {users_dn}", create)
            return
        dn = str(msg.dn)
        if not d.key(dn).endswith("," + d.key(users_dn)):
            raise TenantError(
                f"account {username} exists at {dn}, outside {users_dn}; move or rename "
                "it by hand (accounts are never moved by an apply)"
            )
        for attr, value in wanted.items():
            current = d.first(msg, attr)
            if current != value:
                flag = self.ldb.FLAG_MOD_REPLACE if value else self.ldb.FLAG_MOD_DELETE
                vals = [value] if value else []
                if not value and not current:
                    continue
                self.change(
                    f"~ user {username}: {attr} {current!r} -> {value!r}",
                    lambda a=attr, v=vals, f=flag: d.modify(dn, a, v, f),
                )
        if REMOVED_DAY.match(d.first(msg, "description")):
            # Declared again: the note of an earlier removal no longer holds.
            self.change(
                f"~ user {username}: clear removal note",
                lambda: d.modify(dn, "description", [], self.ldb.FLAG_MOD_DELETE),
            )
        if int(d.first(msg, "userAccountControl") or 0) & UF_ACCOUNTDISABLE:
            self.change(
                f"~ user {username}: enable",
                lambda: d.db.enable_account(f"(sAMAccountName={self.ldb.binary_encode(username)})"),
            )

    def ensure_group(self, group: dict, ou: str) -> list[str]:
        d = self.d
        name = group["name"]
        msg = d.find(name)
        current: set[str] = set()
        if msg is None:
            self.change(
                f"+ group {name} in {d.dn(ou)}",
                lambda: d.db.newgroup(name, groupou=ou, description=group["description"] or None),
            )
            group_dn = f"CN={name},{d.dn(ou)}"
        else:
            group_dn = str(msg.dn)
            current = {d.name_of(m) for m in msg.get("member", [])}
            if group["description"] and d.first(msg, "description") != group["description"]:
                self.change(
                    f"~ group {name}: description",
                    lambda: d.modify(
                        group_dn, "description", [group["description"]], self.ldb.FLAG_MOD_REPLACE
                    ),
                )
        if group["members"] is None:
            return sorted(current)
        wanted = set(group["members"])
        for member in sorted(wanted - current):
            self.change(
                f"+ member {member} of {name}",
                lambda m=member: d.modify(
                    group_dn, "member", [str(d.find(m).dn)], self.ldb.FLAG_MOD_ADD
                ),
            )
        for member in sorted(current - wanted):
            self.change(
                f"- member {member} of {name}",
                lambda m=member: d.modify(
                    group_dn, "member", [str(d.find(m).dn)], self.ldb.FLAG_MOD_DELETE
                ),
            )
        return sorted(wanted)

    def ensure_aces(self, dn: str, aces: list[str], what: str) -> None:
        """Add explicit ACEs missing from dn's DACL (compared in Samba's own SDDL form)."""
        d, security = self.d, self.d.security
        current: set[str] = set()
        if d.key(dn) not in d.planned:
            for ace in d.descriptor(dn).dacl.aces:
                if ace.flags & security.SEC_ACE_FLAG_INHERITED_ACE:
                    continue
                single = security.descriptor()
                single.dacl_add(ace)
                current.add(self.canonical(single.as_sddl(d.domain_sid)))
        missing = [a for a in aces if self.canonical_ace(a) not in current]
        if not missing:
            return

        def write() -> None:
            sddl = d.descriptor(dn).as_sddl(d.domain_sid)
            at = sddl.find("(")
            new = sddl[:at] + "".join(missing) + sddl[at:] if at >= 0 else sddl + "".join(missing)
            d.write_descriptor(dn, security.descriptor.from_sddl(new, d.domain_sid))

        self.change(f"+ acl {what} on {dn}: {''.join(missing)}", write)

    @staticmethod
    def canonical(sddl: str) -> str:
        return sddl[sddl.find("(") :].upper() if "(" in sddl else ""

    def canonical_ace(self, ace: str) -> str:
        desc = self.d.security.descriptor.from_sddl("D:" + ace, self.d.domain_sid)
        return self.canonical(desc.as_sddl(self.d.domain_sid))

    def disable_removed(self, users_dn: str, declared: set[str]) -> list[dict]:
        """Disable marked operator accounts no longer declared; report all of them."""
        d = self.d
        if d.key(users_dn) in d.planned or not d.exists(users_dn):
            return []
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        removed = []
        for msg in d.below(users_dn):
            classes = {str(c).lower() for c in msg.get("objectClass", [])}
            if "user" not in classes or d.first(msg, MARKER_ATTR) != MARKER:
                continue
            name = d.first(msg, "sAMAccountName")
            if name.lower() in declared:
                continue
            noted = REMOVED_DAY.match(d.first(msg, "description"))
            day = noted.group(1) if noted else today
            dn = str(msg.dn)
            if int(d.first(msg, "userAccountControl") or 0) & UF_ACCOUNTDISABLE == 0:
                self.change(
                    f"~ user {name}: disable (removed from the declared operators)",
                    lambda n=name: d.db.disable_account(
                        f"(sAMAccountName={self.ldb.binary_encode(n)})"
                    ),
                )
            if not noted:
                self.change(
                    f"~ user {name}: note removal {day}",
                    lambda dn=dn, v=day: d.modify(
                        dn, "description", [REMOVED_NOTE.format(day=v)], self.ldb.FLAG_MOD_REPLACE
                    ),
                )
            removed.append(
                {"username": name, "name": d.first(msg, "displayName"), "disabled_on": day}
            )
        return sorted(removed, key=lambda r: r["username"])

    def remove_aces(self, dn: str, sid: str, what: str) -> None:
        """Remove the explicit ACEs that name `sid` from dn's DACL."""
        d, security = self.d, self.d.security
        sd = d.descriptor(dn)
        trustee = security.dom_sid(sid)
        found = [
            ace
            for ace in sd.dacl.aces
            if not ace.flags & security.SEC_ACE_FLAG_INHERITED_ACE and ace.trustee == trustee
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
            d.write_descriptor(dn, sd)

        self.change(f"- acl {what} on {dn}: {len(found)} entries of {sid}", write)

    def disable_all(self, ou_dn: str) -> None:
        d = self.d
        for msg in d.below(ou_dn):
            classes = {str(c).lower() for c in msg.get("objectClass", [])}
            category = d.first(msg, "objectCategory").lower()
            if "user" not in classes or not category.startswith("cn=person,"):
                continue
            if int(d.first(msg, "userAccountControl") or 0) & UF_ACCOUNTDISABLE:
                continue
            name = d.first(msg, "sAMAccountName")
            self.change(
                f"~ user {name}: disable",
                lambda n=name: d.db.disable_account(
                    f"(sAMAccountName={self.ldb.binary_encode(n)})"
                ),
            )

    # --- the whole tenant -------------------------------------------------------------
    def run(self) -> dict:
        d, s = self.d, self.spec
        ou = s["ou"]
        ou_dn = d.dn(ou)
        members: dict[str, list[str]] = {}
        if s["state"] == "disabled":
            if d.exists(ou_dn):
                self.disable_all(ou_dn)
                sid = d.sid_of(s["delegate_group"]) if s["delegate_group"] else None
                if sid is not None:
                    self.remove_aces(d.dn(s["delegate_on"] or ou), sid, "delegation")
                for group in s["groups"]:
                    msg = d.find(group["name"])
                    if msg is not None:
                        members[group["name"]] = sorted(d.name_of(m) for m in msg.get("member", []))
            return {"members": members, "ou_exists": d.exists(ou_dn), "removed": []}

        self.ensure_ou(ou)
        sub_ous = self.p["sub_ous"] if s["sub_ous"] is None else s["sub_ous"]
        for sub in sub_ous:
            self.ensure_ou(f"OU={sub},{ou}")
        users_ou = f"OU={self.p['users_ou']},{ou}"
        groups_ou = f"OU={self.p['groups_ou']},{ou}"
        for user in s["users"]:
            self.ensure_user(user, users_ou)
        declared = {u["username"].lower() for u in s["users"]}
        removed = self.disable_removed(d.dn(users_ou), declared)
        for group in s["groups"]:
            members[group["name"]] = self.ensure_group(group, groups_ou)
        if s["delegate_group"]:
            self.delegate(ou, groups_ou)
        return {"members": members, "ou_exists": True, "removed": removed}

    def delegate(self, ou: str, groups_ou: str) -> None:
        d, s = self.d, self.spec
        target = s["delegate_on"] or ou
        self.ensure_ou(target)
        sid = d.sid_of(s["delegate_group"])
        if sid is None and self.check:
            # Not created yet: check mode names the delegation to add.
            self.changes.append(f"+ acl delegation to {s['delegate_group']} on {target}")
            return
        if sid is None:
            raise TenantError(f"delegate group {s['delegate_group']} not found")
        self.ensure_aces(d.dn(target), delegation_aces(sid), "delegation")
        for group in s["groups"]:
            if group["protected"]:
                self.ensure_aces(
                    f"CN={group['name']},{d.dn(groups_ou)}",
                    protect_aces(sid),
                    f"protect {group['name']}",
                )


def reconcile(module: AnsibleModule) -> dict:
    p = module.params
    roots = sorted({split_rdns(t["ou"])[-1] for t in p["tenants"]})
    roots += sorted({t["delegate_on"] for t in p["tenants"] if t["delegate_on"]} - set(roots))
    directory = Directory(module, roots)
    tenants: dict[str, dict] = {}
    results: list[dict] = []
    changes: list[str] = []
    diff: list[str] = []
    for spec in p["tenants"]:
        tenant = Tenant(directory, spec, p)
        label = header(spec["key"], spec["state"])
        try:
            outcome = tenant.run()
            error = ""
        except TenantError as exc:
            outcome, error = {"members": {}, "ou_exists": None, "removed": []}, str(exc)
        tenants[spec["key"]] = {**outcome, "changes": tenant.changes, "error": error}
        changes += tenant.changes
        if tenant.changes or error:
            diff += [f"# {label}", *tenant.changes]
            results.append(
                {
                    "item": label,
                    "changed": bool(tenant.changes),
                    "failed": bool(error),
                    "msg": error,
                    "changes": tenant.changes,
                }
            )
    return {"tenants": tenants, "results": results, "changes": changes, "diff_lines": diff}


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
    tenant_spec = {
        "key": {"type": "str", "required": True},
        "ou": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "disabled"], "default": "present"},
        "sub_ous": {"type": "list", "elements": "str"},
        "users": {"type": "list", "elements": "dict", "default": [], "options": user_spec},
        "groups": {"type": "list", "elements": "dict", "default": [], "options": group_spec},
        "delegate_group": {"type": "str"},
        "delegate_on": {"type": "str"},
    }
    module = AnsibleModule(
        argument_spec={
            "tenants": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": tenant_spec,
            },
            "sub_ous": {
                "type": "list",
                "elements": "str",
                "default": ["Users", "Groups", "Computers"],
            },
            "users_ou": {"type": "str", "default": "Users"},
            "groups_ou": {"type": "str", "default": "Groups"},
            "upn_suffix": {"type": "str", "required": True},
            "initial_password": {"type": "str", "required": True, "no_log": True},
            "url": {"type": "str", "default": "/var/lib/samba/private/sam.ldb"},
        },
        supports_check_mode=True,
    )
    try:
        result = reconcile(module)
    except ImportError as exc:
        module.fail_json(msg=f"Samba's Python bindings are missing (python3-samba): {exc}")
    except Exception as exc:  # ldb.LdbError and friends
        module.fail_json(msg=f"{type(exc).__name__}: {exc}", exception=traceback.format_exc())
    lines = result.pop("diff_lines")
    failed = {k: t["error"] for k, t in result["tenants"].items() if t["error"]}
    changed = bool(result["changes"])
    diff = {"prepared": "\n".join(lines) + "\n"} if lines else {}
    if failed:
        module.fail_json(
            msg="; ".join(f"{k}: {e}" for k, e in failed.items()),
            changed=changed,
            diff=diff,
            **result,
        )
    module.exit_json(changed=changed, diff=diff, **result)


if __name__ == "__main__":
    main()
