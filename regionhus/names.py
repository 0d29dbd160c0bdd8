"""Names the region uses itself, and the rules for names that become AD objects.

A municipality's slug becomes group names (`<slug>-admins`), a backup user
(`borg-<slug>`) and a repository; its name becomes an OU; an operator's username
becomes a Linux account on hosts and an AD account. A value that equals a name the
region or the operating system already uses would take that object over.
"""

from __future__ import annotations

import unicodedata

# --- slugs ---------------------------------------------------------------------------

# The region's own names: `region` owns region-admins, the DCs' backup repository and
# borg-region; the rest are Ansible's, the inventory's or the directory's groups.
RESERVED_SLUGS = frozenset(
    {
        "region",
        "regional",
        "regionhus",
        "regionen",
        "kommune",
        "kommuner",
        "all",
        "ungrouped",
        "localhost",
        "admin",
        "admins",
        "administrator",
        "operators",
        "directory",
        "backup",
        "vdi",
        "dc",
        "domain",
        "users",
        "groups",
        "computers",
        "builtin",
        "system",
        "root",
    }
)
# borg-<slug> is a Linux account: useradd refuses names over 32 characters.
MAX_SLUG = 32 - len("borg-")

# --- usernames -----------------------------------------------------------------------

# Accounts and groups of a Debian 12 base system (base-passwd, debootstrap) and of the
# packages the roles install (openssh, samba, sssd, xrdp, borg, nftables, chrony...).
_ACCOUNTS = """
    root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc
    gnats nobody nogroup adm tty disk kmem dialout fax voice cdrom floppy tape sudo audio
    dip operator src shadow utmp video sasl plugdev staff users netdev input sgx kvm
    render crontab messagebus systemd-journal systemd-network systemd-resolve
    systemd-timesync systemd-coredump systemd-oom sshd ssh polkitd avahi colord pulse
    lightdm statd tss uuidd tcpdump dnsmasq chrony ntp ntpsec bind named postfix
    postdrop exim debian-exim mysql postgres redis netbox sssd xrdp ssl-cert winbindd
    sambashare samba lxd docker wheel admin administrator guest krbtgt ansible pyinfra
    apt-cacher-ng unbound clamav nslcd nscd ldap openldap rtkit geoclue saned fwupd-refresh
    usbmux kernoops speech-dispatcher cups-pk-helper hplip libvirt-qemu nm-openvpn
    regionhus regionhus-operators regionhus-backup region-admins borg
    """
SYSTEM_ACCOUNTS = frozenset(_ACCOUNTS.split())
# Prefixes and suffixes of accounts the region or Debian create per instance:
# borg-<slug> (backup users), <slug>-admins and <slug>-vdi-users (AD groups, which
# share the sAMAccountName namespace with users), systemd-* and debian-* service users,
# and dns-<dc> (the account Samba creates for each DC's DNS service).
RESERVED_PREFIXES = ("borg-", "systemd-", "debian-", "regionhus", "samba-", "xrdp-", "dns-")
RESERVED_SUFFIXES = ("-admins", "-vdi-users")


def username_reserved(username: str) -> str | None:
    """Why `username` may not be an operator's account, or None if it may."""
    if username in SYSTEM_ACCOUNTS:
        return f"'{username}' is a system or service account on the hosts"
    for prefix in RESERVED_PREFIXES:
        if username.startswith(prefix):
            return f"names starting with '{prefix}' belong to the region's service accounts"
    for suffix in RESERVED_SUFFIXES:
        if username.endswith(suffix):
            return f"names ending in '{suffix}' are the region's AD groups"
    return None


# --- municipality names (OUs) --------------------------------------------------------

# Letters of any script (Norwegian, Sámi: á č đ ŋ š ŧ ž, also decomposed with combining
# marks), digits, spaces and the punctuation of real place names. Everything else
# (',', '=', '+', '<', '>', '#', ';', '\\', '"', control characters...) has a meaning
# in an LDAP DN, a shell, a CSV cell or a configuration file and is never needed.
NAME_PUNCTUATION = " -–'.’ʼ"
RESERVED_OU_NAMES = frozenset(
    {"region", "kommuner", "users", "groups", "computers", "domain controllers", "builtin"}
)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a municipality's name (its OU), or None."""
    for char in name:
        category = unicodedata.category(char)
        if category[0] in "LMN" or char in NAME_PUNCTUATION:
            continue
        return (
            f"the character {char!r} is not allowed in a name "
            "(letters, digits, spaces, - – ' . only)"
        )
    if name != name.strip() or "  " in name:
        return "the name has leading, trailing or double spaces"
    if unicodedata.category(unicodedata.normalize("NFC", name)[:1] or "x")[0] != "L":
        return "the name must start with a letter"
    if ou_key(name) in RESERVED_OU_NAMES:
        return f"'{name}' is an OU the region uses itself"
    return None


def person_name_problem(name: str) -> str | None:
    """Why an operator's name cannot be written to the hosts' /etc/passwd, or None.

    The name becomes the account's comment (GECOS): ':' ends the field, ',' starts
    GECOS sub-fields, and a control character (a line break) breaks the file or useradd.
    """
    for char in name:
        if unicodedata.category(char)[0] == "C":
            return "the name contains a line break or control character"
        if char in ":,\\":
            return f"the character {char!r} is not allowed in a person's name"
    if name != name.strip():
        return "the name has leading or trailing spaces"
    return None


def normal_name(name: str) -> str:
    """The name as written to AD: NFC, so that NFD input gives the same OU."""
    return unicodedata.normalize("NFC", name)


def ou_key(name: str) -> str:
    """Two names with the same key get the same OU in AD (case-insensitive, normalised)."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# --- LDAP DNs (RFC 4514) -------------------------------------------------------------

_DN_SPECIAL = ',+"\\<>;='


def escape_dn_value(value: str) -> str:
    """An attribute value for a DN (RFC 4514); the directory_tenants role's `dn_value`
    filter calls this too, so both sides name the same OU."""
    out = "".join("\\" + c if c in _DN_SPECIAL else c for c in value).replace("\x00", "\\00")
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out
