"""Reserved names and SSH keys, rule by rule (the broken corpus shows them end to end)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from regionhus.names import RESERVED_SLUGS, name_problem, ou_key, username_reserved
from regionhus.sshkeys import BadKey, check_public_key

# Debian 12's base-passwd (users and groups) and accounts of the packages the roles install.
_BASE = """root daemon bin sys sync games man lp mail news uucp proxy www-data backup
list irc gnats nobody adm tty disk kmem dialout fax voice cdrom floppy tape sudo audio dip
operator src shadow utmp video sasl plugdev staff users nogroup sshd messagebus
systemd-network systemd-timesync xrdp sssd"""
DEBIAN_BASE = _BASE.split()


@pytest.mark.parametrize(
    "username",
    [
        *DEBIAN_BASE,
        "borg-tinn",
        "borg-region",
        "tinn-admins",
        "region-admins",
        "kongsberg-vdi-users",
        "administrator",
        "krbtgt",
        "guest",
        "dns-dc1",
        "regionhus-operators",
    ],
)
def test_system_service_and_region_accounts_are_reserved(username: str) -> None:
    assert username_reserved(username)


@pytest.mark.parametrize("username", ["kbg.ola", "drift.kari", "tinn.siri", "ola-nordmann"])
def test_peoples_usernames_are_not(username: str) -> None:
    assert username_reserved(username) is None


def test_the_regions_own_slug_names_are_reserved() -> None:
    assert {"region", "regional", "regionhus", "all", "ungrouped"} <= RESERVED_SLUGS


@pytest.mark.parametrize(
    "a,b",
    [
        ("Tinn", "TINN"),
        ("Øvre Eiker", "øvre eiker"),
        ("Kárášjohka", "Ka\u0301ra\u0301s\u030cjohka"),
    ],
)
def test_names_that_give_one_ou_have_one_key(a: str, b: str) -> None:
    assert a != b and ou_key(a) == ou_key(b)


@pytest.mark.parametrize("name", ["Tinn,OU=Region", "Tinn\n", "=1+1", "Tinn;", " Tinn", "Users"])
def test_names_that_would_break_a_dn_or_a_file_are_refused(name: str) -> None:
    assert name_problem(name)


def openssh(key: object, comment: str = "ola@laptop") -> str:
    raw = key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    return f"{raw} {comment}"


@pytest.mark.parametrize(
    "make",
    [
        lambda: ed25519.Ed25519PrivateKey.generate(),
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
        lambda: rsa.generate_private_key(65537, 3072),
    ],
    ids=["ed25519", "p256", "p384", "p521", "rsa3072"],
)
def test_strong_keys_pass(make) -> None:  # type: ignore[no-untyped-def]
    line = openssh(make().public_key())
    assert check_public_key(line) == line


def test_rsa_2048_is_refused_with_the_minimum_named() -> None:
    line = openssh(rsa.generate_private_key(65537, 2048).public_key())
    with pytest.raises(BadKey, match="at least 3072"):
        check_public_key(line)


def test_a_key_without_a_comment_passes() -> None:
    line = openssh(ed25519.Ed25519PrivateKey.generate().public_key()).rsplit(" ", 1)[0]
    assert check_public_key(line) == line
