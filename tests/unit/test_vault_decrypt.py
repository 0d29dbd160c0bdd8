"""The vault reader used on every plan (without importing Ansible) reads exactly what
Ansible writes, and refuses what Ansible would refuse."""

from __future__ import annotations

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from regionhus.errors import RegionhusError
from regionhus.secrets import decrypt_aes256

PASSWORD = b"correct horse battery staple"


@pytest.mark.parametrize("vault_id", ["default", "region", "lab"])
@pytest.mark.parametrize(
    "plain", [b"", b"a: 1\n", "æøå: «sikkert»\n".encode(), bytes(range(256)) * 9]
)
def test_reads_what_ansible_writes(plain: bytes, vault_id: str) -> None:
    text = VaultLib([(vault_id, VaultSecret(PASSWORD))]).encrypt(plain, vault_id=vault_id)
    assert decrypt_aes256(text, PASSWORD) == plain


def test_a_wrong_password_or_a_changed_byte_is_refused() -> None:
    text = VaultLib([("region", VaultSecret(PASSWORD))]).encrypt(b"x: y\n", vault_id="region")
    with pytest.raises(RegionhusError, match="HMAC"):
        decrypt_aes256(text, b"wrong")
    header, body = text.split(b"\n", 1)
    flipped = body[:-3] + (b"0" if body[-3:-2] != b"0" else b"1") + body[-2:]
    with pytest.raises(RegionhusError, match=r"HMAC|damaged"):
        decrypt_aes256(header + b"\n" + flipped, PASSWORD)


def test_other_formats_are_left_to_ansible() -> None:
    assert decrypt_aes256(b"plain: text\n", PASSWORD) is None
    assert decrypt_aes256(b"$ANSIBLE_VAULT;1.1;AES\n00\n", PASSWORD) is None
