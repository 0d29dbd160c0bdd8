"""The regional directory on the lab's DCs: service, replication, tenants, isolation, failover.

The directory playbook is applied once for the module (and once more to show it changes
nothing). Probes that talk LDAP run as one Python script on dc1 with Samba's own bindings
(python3-samba), so the whole isolation matrix costs one ssh round trip.

The operators' lab accounts have the vault's `vault_directory_operator_password` (set
by the playbook when the account is created; lab only).
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
import time
from typing import Any

import pytest

from regionhus.config import RegionConfig, load_region
from regionhus.engines import EngineRun, run_ansible
from regionhus.lab import require_lab_bridge, run_on, ssh_command
from regionhus.model import ServiceName
from regionhus.secrets import ensure_lab_vault, read_vault

pytestmark = pytest.mark.lab

DCS = ("dc1", "dc2")
ERR_INSUFFICIENT_ACCESS_RIGHTS = 50

# Runs on a DC with /usr/bin/python3 and python3-samba. Input: a JSON file (argv[1]).
PROBE_SCRIPT = r"""
import json, sys
import ldb
from samba.auth import system_session
from samba.credentials import Credentials, DONT_USE_KERBEROS
from samba.param import LoadParm
from samba.samdb import SamDB

cfg = json.load(open(sys.argv[1]))
lp = LoadParm()
lp.load_default()
local = SamDB(url="/var/lib/samba/private/sam.ldb", session_info=system_session(), lp=lp)
base = str(local.domain_dn())


def connect(user, password, url=cfg.get("url", "ldap://127.0.0.1")):
    creds = Credentials()
    creds.guess(lp)
    creds.set_domain(cfg["netbios"])
    creds.set_username(user)
    creds.set_password(password)
    creds.set_kerberos_state(DONT_USE_KERBEROS)
    return SamDB(url=url, credentials=creds, lp=lp)


def find(db, name, attrs=("dn",)):
    res = db.search(base=base, scope=ldb.SCOPE_SUBTREE,
                    expression="(sAMAccountName=%s)" % ldb.binary_encode(name), attrs=list(attrs))
    return res[0] if len(res) else None


def cleanup():
    for msg in local.search(base=base, scope=ldb.SCOPE_SUBTREE,
                            expression="(sAMAccountName=probe*)", attrs=["dn"]):
        local.delete(msg.dn)


def attempt(fn):
    try:
        fn()
        return 0
    except ldb.LdbError as exc:
        return exc.args[0]


def add_user(db, dn, name):
    db.add({"dn": dn, "objectClass": "user", "sAMAccountName": name})


def set_attr(db, dn, attr, value):
    msg = ldb.Message()
    msg.dn = ldb.Dn(db, dn)
    msg[attr] = ldb.MessageElement([value], ldb.FLAG_MOD_REPLACE, attr)
    db.modify(msg)


def add_member(db, group_dn, member_dn):
    msg = ldb.Message()
    msg.dn = ldb.Dn(db, group_dn)
    msg["member"] = ldb.MessageElement([member_dn], ldb.FLAG_MOD_ADD, "member")
    db.modify(msg)


def state():
    out = {}
    for t in cfg["tenants"]:
        ou = "OU=%s,OU=Kommuner,%s" % (t["name"], base)
        res = local.search(base=base, scope=ldb.SCOPE_SUBTREE,
                           expression="(&(objectClass=organizationalUnit)(ou=%s))" % t["name"],
                           attrs=["dn"])
        ous = []
        if len(res):
            ous = sorted(str(m.dn) for m in local.search(
                base=ou, scope=ldb.SCOPE_ONELEVEL,
                expression="(objectClass=organizationalUnit)", attrs=["dn"]))
        groups = {}
        for g in t["groups"]:
            msg = find(local, g, ["member"])
            if msg is None:
                continue
            names = []
            for m in msg.get("member", []):
                names.append(str(local.search(base=str(m), scope=ldb.SCOPE_BASE,
                                              attrs=["sAMAccountName"])[0]["sAMAccountName"][0]))
            groups[g] = {"dn": str(msg.dn), "members": sorted(names)}
        users = {}
        for u in t["users"]:
            msg = find(local, u, ["userAccountControl"])
            if msg is not None:
                users[u] = {"dn": str(msg.dn),
                            "disabled": bool(int(str(msg["userAccountControl"][0])) & 2)}
        out[t["slug"]] = {"ou": len(res) > 0, "sub_ous": ous, "groups": groups, "users": users}
    return out


def matrix():
    results = []

    def probe(actor, op, target, expected, code):
        results.append({"actor": actor, "op": op, "target": target,
                        "expected": expected, "result": "allowed" if code == 0 else
                        ("denied" if code == 50 else "error %d" % code)})

    password = cfg["password"]
    tenants = cfg["tenants"]
    users_ou = {t["slug"]: "OU=Users,OU=%s,OU=Kommuner,%s" % (t["name"], base) for t in tenants}
    for i, a in enumerate(tenants):
        admin = a["users"][0]
        db = connect(admin, password)
        own = "CN=probe%dself,%s" % (i, users_ou[a["slug"]])
        probe(admin, "create user", a["slug"], "allowed",
              attempt(lambda: add_user(db, own, "probe%dself" % i)))
        probe(admin, "change user", a["slug"], "allowed",
              attempt(lambda: set_attr(db, own, "description", "changed by " + admin)))
        probe(admin, "disable user", a["slug"], "allowed",
              attempt(lambda: set_attr(db, own, "userAccountControl", "514")))
        probe(admin, "delete user", a["slug"], "allowed", attempt(lambda: db.delete(own)))
        grp = "CN=probe%dgrp,OU=Groups,OU=%s,OU=Kommuner,%s" % (i, a["name"], base)
        probe(admin, "create group", a["slug"], "allowed", attempt(lambda: db.add(
            {"dn": grp, "objectClass": "group", "sAMAccountName": "probe%dgrp" % i})))
        probe(admin, "delete group", a["slug"], "allowed", attempt(lambda: db.delete(grp)))
        admins_dn = str(find(local, a["slug"] + "-admins").dn)
        probe(admin, "add member to own admin group", a["slug"], "denied",
              attempt(lambda: add_member(db, admins_dn, str(find(local, "Administrator").dn))))
        probe(admin, "create user in CN=Users", "domain", "denied",
              attempt(lambda: add_user(db, "CN=probe%dcn,CN=Users,%s" % (i, base),
                                       "probe%dcn" % i)))
        for j, b in enumerate(tenants):
            if b is a:
                continue
            other = "CN=probe%dx%d,%s" % (i, j, users_ou[b["slug"]])
            probe(admin, "create user", b["slug"], "denied",
                  attempt(lambda: add_user(db, other, "probe%dx%d" % (i, j))))
            victim = str(find(local, b["users"][0]).dn)
            probe(admin, "change user", b["slug"], "denied",
                  attempt(lambda: set_attr(db, victim, "description", "changed by " + admin)))
    # A plain (non-admin) user of the first municipality changes nothing.
    first = tenants[0]
    plain_dn = "CN=probeplain,%s" % users_ou[first["slug"]]
    local.newuser("probeplain", password, useusernameascn=True,
                  userou="OU=Users,OU=%s,OU=Kommuner" % first["name"])
    db = connect("probeplain", password)
    for t in tenants:
        probe("probeplain", "create user", t["slug"], "denied", attempt(lambda: add_user(
            db, "CN=probeplainx,%s" % users_ou[t["slug"]], "probeplainx")))
        victim = str(find(local, t["users"][0]).dn)
        probe("probeplain", "change user", t["slug"], "denied",
              attempt(lambda: set_attr(db, victim, "description", "changed by probeplain")))
    probe("probeplain", "change own group membership", first["slug"], "denied",
          attempt(lambda: add_member(db, str(find(local, first["slug"] + "-vdi-users").dn),
                                     plain_dn)))
    # A regional operator may create a user in every municipality.
    if cfg.get("regional"):
        db = connect(cfg["regional"], password)
        for k, t in enumerate(tenants):
            dn = "CN=probereg%d,%s" % (k, users_ou[t["slug"]])
            probe(cfg["regional"], "create user", t["slug"], "allowed",
                  attempt(lambda: add_user(db, dn, "probereg%d" % k)))
    return results


def bind():
    db = connect(cfg["user"], cfg["password"], cfg["url"])
    me = db.search(base=base, scope=ldb.SCOPE_SUBTREE,
                   expression="(sAMAccountName=%s)" % cfg["user"], attrs=["dn"])
    return {"bound_as": cfg["user"], "found": len(me)}


mode = cfg["mode"]
if mode == "state":
    print(json.dumps(state()))
elif mode == "bind":
    print(json.dumps(bind()))
else:
    cleanup()
    try:
        print(json.dumps(matrix()))
    finally:
        cleanup()
"""


def _push(host: str, path: str, content: str) -> None:
    require_lab_bridge()
    # ssh_command closes stdin (-n); here stdin is the file's content.
    argv = [a for a in ssh_command(host, f"umask 077 && cat > {shlex.quote(path)}") if a != "-n"]
    proc = subprocess.run(
        argv,
        input=content,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def run_probe(host: str, cfg: dict[str, Any]) -> Any:
    """Run the probe script on a DC with cfg (JSON, holds passwords: removed afterwards)."""
    _push(host, "/root/directory_probe.py", PROBE_SCRIPT)
    _push(host, "/root/directory_probe.json", json.dumps(cfg))
    try:
        proc = run_on(
            host, "python3 /root/directory_probe.py /root/directory_probe.json", check=False
        )
    finally:
        run_on(host, "rm -f /root/directory_probe.json", check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def region() -> RegionConfig:
    config = load_region()
    ensure_lab_vault(config)
    return config


@pytest.fixture(scope="module")
def secrets(region: RegionConfig) -> dict[str, Any]:
    return read_vault()


@pytest.fixture(scope="module")
def directory_applied(lab: list[str], region: RegionConfig) -> EngineRun:
    """The directory playbook applied once (a fresh lab: this is the first apply)."""
    started = time.monotonic()
    result = run_ansible("playbooks/directory.yml", stream=False)
    result.duration = time.monotonic() - started  # type: ignore[attr-defined]
    assert result.ok, result.output[-5000:]
    return result


@pytest.fixture(scope="module")
def tenants(region: RegionConfig, directory_applied: EngineRun) -> list[dict[str, Any]]:
    """Municipalities with an active directory part, as the probe script takes them."""
    return [
        {
            "slug": k.slug,
            "name": k.name,
            "users": [op.username for op in k.operators],
            "groups": [f"{k.slug}-admins", f"{k.slug}-vdi-users"],
        }
        for k in region.takes(ServiceName.DIRECTORY)
    ]


def _probe_cfg(region: RegionConfig, secrets: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "netbios": region.region.directory.netbios_domain,
        "password": secrets["vault_directory_operator_password"],
        **extra,
    }


# --- the DCs --------------------------------------------------------------------------


def test_second_apply_changes_nothing(directory_applied: EngineRun) -> None:
    again = run_ansible("playbooks/directory.yml", stream=False)
    assert again.ok, again.output[-5000:]
    assert {dc: again.changed.get(dc) for dc in DCS} == {"dc1": 0, "dc2": 0}, again.output[-5000:]


def test_check_mode_predicts_no_change(directory_applied: EngineRun) -> None:
    check = run_ansible("playbooks/directory.yml", check=True, stream=False)
    assert check.ok, check.output[-5000:]
    assert {dc: check.changed.get(dc) for dc in DCS} == {"dc1": 0, "dc2": 0}, check.output[-5000:]


@pytest.mark.parametrize("dc", DCS)
def test_only_samba_ad_dc_runs(dc: str, directory_applied: EngineRun) -> None:
    out = run_on(
        dc, "systemctl is-active samba-ad-dc; systemctl is-enabled smbd nmbd winbind", check=False
    ).stdout.split()
    assert out == ["active", "masked", "masked", "masked"]


@pytest.mark.parametrize("server", DCS)
def test_dc_serves_ldap_kerberos_dns(
    server: str, region: RegionConfig, secrets: dict[str, Any], directory_applied: EngineRun
) -> None:
    realm = region.region.directory.realm
    domain = realm.lower()
    address = {"dc1": "10.47.0.11", "dc2": "10.47.0.12"}[server]
    # Asked from the other DC, so it goes over the lab network.
    client = "dc2" if server == "dc1" else "dc1"
    ldap = run_on(client, f"ldbsearch -H ldap://{address} -s base -b '' dnsHostName").stdout
    assert f"dnsHostName: {server}.{domain}" in ldap
    dns = run_on(client, f"dig +short @{address} {server}.{domain} A").stdout.split()
    assert dns == [address]
    srv = run_on(client, f"dig +short @{address} _kerberos._tcp.{domain} SRV").stdout
    assert f"{server}.{domain}." in srv
    user = region.region.regional_operators[0].username
    conf = (
        f"[libdefaults]\n default_realm = {realm}\n"
        f"[realms]\n {realm} = {{\n  kdc = {address}\n }}\n"
    )
    script = (
        f"printf %s {shlex.quote(conf)} > /tmp/krb5-{server}.conf && "
        f"printf '%s\\n' {shlex.quote(secrets['vault_directory_operator_password'])} | "
        f"KRB5_CONFIG=/tmp/krb5-{server}.conf KRB5CCNAME=/tmp/cc-{server} kinit {user}@{realm} "
        f">/dev/null && KRB5CCNAME=/tmp/cc-{server} klist; "
        f"rc=$?; rm -f /tmp/cc-{server} /tmp/krb5-{server}.conf; exit $rc"
    )
    klist = run_on(client, script).stdout
    assert f"krbtgt/{realm}@{realm}" in klist


@pytest.mark.parametrize("dc", DCS)
def test_replication_has_no_failures(dc: str, directory_applied: EngineRun) -> None:
    out = run_on(dc, "samba-tool drs showrepl --summary").stdout
    assert "[ALL GOOD]" in out, out
    full = run_on(dc, "samba-tool drs showrepl").stdout
    assert "consecutive failure" not in full.replace("0 consecutive failure(s)", ""), full


# --- the municipalities' parts --------------------------------------------------------


@pytest.mark.parametrize("dc", DCS)
def test_tenants_exist_as_declared(
    dc: str, region: RegionConfig, tenants: list[dict[str, Any]], secrets: dict[str, Any]
) -> None:
    """Every active municipality's OU tree, groups and admin members (on both DCs)."""
    state: dict[str, Any] = {}
    for _ in range(20):  # dc2 gets the tenants by replication, within seconds
        state = run_probe(dc, _probe_cfg(region, secrets, mode="state", tenants=tenants))
        if all(state[t["slug"]]["ou"] and len(state[t["slug"]]["groups"]) == 2 for t in tenants):
            break
        time.sleep(3)
    for t in tenants:
        got = state[t["slug"]]
        assert got["ou"], t["slug"]
        assert [d.split(",")[0] for d in got["sub_ous"]] == [
            "OU=Computers",
            "OU=Groups",
            "OU=Users",
        ]
        admins = got["groups"][f"{t['slug']}-admins"]
        assert admins["members"] == sorted(t["users"])
        assert admins["dn"].startswith(
            f"CN={t['slug']}-admins,OU=Groups,OU={t['name']},OU=Kommuner,"
        )
        assert f"{t['slug']}-vdi-users" in got["groups"]
        for user in t["users"]:
            assert got["users"][user]["dn"].startswith(f"CN={user},OU=Users,OU={t['name']},")
            assert not got["users"][user]["disabled"]


def test_planned_and_ended_municipalities(
    region: RegionConfig, secrets: dict[str, Any], directory_applied: EngineRun
) -> None:
    """Planned: nothing exists. Ended: nothing new; whatever exists has its accounts disabled."""
    others = [
        {
            "slug": k.slug,
            "name": k.name,
            "users": [op.username for op in k.operators],
            "groups": [f"{k.slug}-admins", f"{k.slug}-vdi-users"],
            "state": k.service_state(ServiceName.DIRECTORY, region.on),
        }
        for k in region.kommuner.values()
        if k.service_state(ServiceName.DIRECTORY, region.on) != "active"
    ]
    assert others, "the lab region has a planned and a former member"
    state = run_probe("dc1", _probe_cfg(region, secrets, mode="state", tenants=others))
    for k in others:
        got = state[k["slug"]]
        if k["state"] == "none":
            assert not got["ou"] and not got["groups"] and not got["users"], k["slug"]
        else:
            assert all(u["disabled"] for u in got["users"].values()), k["slug"]


def test_admin_group_records_for_the_audit(
    region: RegionConfig, tenants: list[dict[str, Any]], directory_applied: EngineRun
) -> None:
    from regionhus.records import DirectoryRecord, directory_record_path, load_record

    for t in tenants:
        record = load_record(directory_record_path(t["slug"]), DirectoryRecord)
        assert record.admin_group == f"{t['slug']}-admins"
        assert record.members == sorted(t["users"])
        assert record.source == "dc1"
    # The regional operators' rights: the regional group, read on the same DC.
    regional = load_record(directory_record_path("region"), DirectoryRecord)
    assert regional.admin_group == "region-admins"
    assert regional.members == sorted(o.username for o in region.region.regional_operators)


# --- isolation: real LDAP operations --------------------------------------------------


def test_isolation_matrix(
    region: RegionConfig, tenants: list[dict[str, Any]], secrets: dict[str, Any]
) -> None:
    regional = region.region.regional_operators[0].username
    started = time.monotonic()
    results = run_probe(
        "dc1", _probe_cfg(region, secrets, mode="matrix", tenants=tenants, regional=regional)
    )
    elapsed = time.monotonic() - started
    wrong = [r for r in results if r["result"] != r["expected"]]
    cross = [
        r
        for r in results
        if r["actor"] not in ("probeplain", regional)
        and r["op"] == "create user"
        and r["expected"] == "denied"
    ]
    n = len(tenants)
    assert len(cross) == n * (n - 1)
    summary = {
        "probes": len(results),
        "allowed": sum(r["result"] == "allowed" for r in results),
        "denied": sum(r["result"] == "denied" for r in results),
        "seconds": round(elapsed, 1),
    }
    print(f"isolation matrix: {summary}")
    assert not wrong, json.dumps(wrong, indent=1)


# --- failover -------------------------------------------------------------------------


def test_failover_authentication_against_dc2(
    region: RegionConfig, tenants: list[dict[str, Any]], secrets: dict[str, Any]
) -> None:
    """With samba-ad-dc stopped on dc1: kinit (via krb5.conf's KDC list) and LDAP bind on dc2."""
    realm = region.region.directory.realm
    user = tenants[0]["users"][0]
    password = secrets["vault_directory_operator_password"]
    run_on("dc1", "systemctl stop samba-ad-dc")
    try:
        # dc1 is now only a client: its krb5.conf lists dc1 first, then dc2.
        klist = run_on(
            "dc1",
            f"printf '%s\\n' {shlex.quote(password)} | KRB5CCNAME=/tmp/cc-failover "
            f"kinit {user}@{realm} >/dev/null && KRB5CCNAME=/tmp/cc-failover klist; "
            "rc=$?; rm -f /tmp/cc-failover; exit $rc",
        ).stdout
        assert f"krbtgt/{realm}@{realm}" in klist
        bound = run_probe(
            "dc2",
            _probe_cfg(region, secrets, mode="bind", user=user, url="ldap://10.47.0.12"),
        )
        assert bound == {"bound_as": user, "found": 1}
    finally:
        run_on("dc1", "systemctl start samba-ad-dc")
        run_on(
            "dc1",
            "for i in $(seq 30); do ldbsearch -H ldap://127.0.0.1 -s base -b '' "
            "dnsHostName >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1",
        )


# --- a municipality that leaves ---------------------------------------------------------


def _tenant_module(args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    """Call the role's module on dc1 directly (ad-hoc) with this one tenant; its result
    (changes, members, ou_exists, removed) and whether the call changed anything."""
    from regionhus.engines import BIN, engine_env
    from regionhus.paths import repo_root

    common = ("upn_suffix", "initial_password")
    tenant = {"key": "probe", **{k: v for k, v in args.items() if k not in common}}
    command = [
        str(BIN / "ansible"),
        "dc1",
        "-M",
        "roles/directory_tenants/library",
        "-m",
        "samba_directory_tenants",
        "-a",
        json.dumps({**{k: args[k] for k in common}, "tenants": [tenant]}),
        "-o",
    ]
    command += ["--check"] if check else []
    proc = subprocess.run(
        command, cwd=repo_root(), env=engine_env("embedded"), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout.split("=>", 1)[1])
    return {"changed": result["changed"], **result["tenants"]["probe"]}


ACES_OF = r"""
import sys
import ldb
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB

lp = LoadParm()
lp.load_default()
db = SamDB(url="/var/lib/samba/private/sam.ldb", session_info=system_session(), lp=lp)
base = str(db.domain_dn())
group = db.search(base=base, scope=ldb.SCOPE_SUBTREE, attrs=["objectSid"],
                  expression="(sAMAccountName=%s)" % sys.argv[2])[0]
sid = ndr_unpack(security.dom_sid, group["objectSid"][0])
res = db.search(base=sys.argv[1] + "," + base, scope=ldb.SCOPE_BASE,
                attrs=["nTSecurityDescriptor"], controls=["sd_flags:1:4"])
sd = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
print(sum(1 for ace in sd.dacl.aces if ace.trustee == sid))
"""


def _aces_of(ou: str, group: str) -> int:
    """Explicit and inherited ACEs naming `group` on the OU (dc1's own database)."""
    _push("dc1", "/root/aces_of.py", ACES_OF)
    out = run_on("dc1", f"python3 /root/aces_of.py {shlex.quote(ou)} {shlex.quote(group)}")
    return int(out.stdout.strip())


def test_leaving_municipality_is_disabled_and_kept(
    region: RegionConfig, secrets: dict[str, Any], directory_applied: EngineRun
) -> None:
    """A throw-away municipality: an operator removed (disabled, day noted), then it leaves
    (accounts disabled, delegation entries removed, OU and groups kept)."""
    suffix = region.region.directory.realm.lower()
    password = secrets["vault_directory_operator_password"]
    leaver = {"username": "probe.leaver", "name": "Probe Leaver", "email": ""}
    gone = {"username": "probe.gone", "name": "Probe Gone", "email": ""}
    tenant = {
        "ou": "OU=Probe Leaving,OU=Kommuner",
        "upn_suffix": suffix,
        "initial_password": password,
        "users": [leaver, gone],
        "groups": [
            {
                "name": "probe-leaving-admins",
                "members": ["probe.gone", "probe.leaver"],
                "protected": True,
            }
        ],
        "delegate_group": "probe-leaving-admins",
    }
    cleanup = (
        "ou='OU=Probe Leaving,OU=Kommuner'; base=$(ldbsearch -H /var/lib/samba/private/sam.ldb "
        "-s base -b '' defaultNamingContext | sed -n 's/^defaultNamingContext: //p'); "
        'ldbdel -H /var/lib/samba/private/sam.ldb -r "$ou,$base" >/dev/null 2>&1; true'
    )
    run_on("dc1", cleanup)
    try:
        created = _tenant_module(tenant)
        assert created["changed"]
        assert _tenant_module(tenant)["changed"] is False
        # probe.gone leaves the declared operators: disabled, the day written on the account.
        fewer = {
            **tenant,
            "users": [leaver],
            "groups": [{**tenant["groups"][0], "members": ["probe.leaver"]}],
        }
        today = dt.datetime.now(dt.UTC).date().isoformat()
        removed = _tenant_module(fewer)
        assert (
            "~ user probe.gone: disable (removed from the declared operators)" in removed["changes"]
        )
        assert "- member probe.gone of probe-leaving-admins" in removed["changes"]
        assert removed["removed"] == [
            {"username": "probe.gone", "name": "Probe Gone", "disabled_on": today}
        ]
        again = _tenant_module(fewer)
        assert again["changed"] is False and again["removed"] == removed["removed"]
        assert _aces_of("OU=Probe Leaving,OU=Kommuner", "probe-leaving-admins") == 4
        predicted = _tenant_module({**fewer, "state": "disabled"}, check=True)
        assert predicted["changes"][0] == "~ user probe.leaver: disable"
        assert predicted["changes"][1].startswith("- acl delegation on OU=Probe Leaving,")
        ended = _tenant_module({**fewer, "state": "disabled"})
        assert ended["changes"] == predicted["changes"]
        assert ended["ou_exists"] is True
        assert ended["members"] == {"probe-leaving-admins": ["probe.leaver"]}
        assert _tenant_module({**fewer, "state": "disabled"})["changed"] is False
        assert _aces_of("OU=Probe Leaving,OU=Kommuner", "probe-leaving-admins") == 0
        state = run_probe(
            "dc1",
            _probe_cfg(
                region,
                secrets,
                mode="state",
                tenants=[
                    {
                        "slug": "probe-leaving",
                        "name": "Probe Leaving",
                        "users": ["probe.leaver", "probe.gone"],
                        "groups": ["probe-leaving-admins"],
                    }
                ],
            ),
        )["probe-leaving"]
        assert state["ou"] and state["users"]["probe.leaver"]["disabled"]
        assert state["users"]["probe.gone"]["disabled"]
        assert state["groups"]["probe-leaving-admins"]["members"] == ["probe.leaver"]
    finally:
        run_on("dc1", cleanup)
