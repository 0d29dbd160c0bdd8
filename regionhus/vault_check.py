"""The vault's values are checked like any other input, before any host is touched.

A secret reaches a shell (`kinit`, `samba-tool`), an LDIF, a borg passphrase file and
a systemd credential: a newline, a control character or a number where text belongs
breaks those in ways that are hard to trace, so they are refused here by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regionhus.errors import InvalidConfiguration
from regionhus.validate import Finding
from regionhus.yamlfile import YamlDocument, YamlSyntaxError, load_yaml_bytes

MIN_LENGTH = 12
MAX_LENGTH = 256
GENERATE = "generate one, e.g. `openssl rand -base64 24`, and store it with ansible-vault edit"


def _value_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be text in quotes, got {type(value).__name__}"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "contains a line break or control character"
    if value != value.strip():
        return "starts or ends with a space"
    if len(value) < MIN_LENGTH:
        return f"is {len(value)} characters; at least {MIN_LENGTH}"
    if len(value) > MAX_LENGTH:
        return f"is {len(value)} characters; at most {MAX_LENGTH}"
    return None


def vault_findings(rel: str, doc: YamlDocument, required: dict[str, list[str]]) -> list[Finding]:
    """Every problem in a decrypted vault: missing, misspelt and malformed secrets."""
    if not isinstance(doc.data, dict):
        return [Finding(rel, 1, "", "the vault must be a mapping of secret names")]
    data: dict[str, Any] = doc.data
    findings = []

    def add(loc: tuple[str, ...], message: str, hint: str = GENERATE) -> None:
        findings.append(Finding(rel, doc.line_of(loc), ".".join(loc), message, hint))

    for name, keys in required.items():
        if name not in data:
            findings.append(Finding(rel, 1, name, "secret is missing", GENERATE))
            continue
        value = data[name]
        if not keys:
            problem = _value_problem(value)
            if problem:
                add((name,), f"the secret {problem}")
            continue
        if not isinstance(value, dict):
            add((name,), "must be a mapping with one entry per " + ", ".join(keys), "")
            continue
        for key in keys:
            if key not in value:
                add((name,), f"no entry for '{key}'")
                continue
            problem = _value_problem(value[key])
            if problem:
                add((name, key), f"the secret {problem}")
    return findings


def check_vault_data(path: Path, data: dict[str, Any], required: dict[str, list[str]]) -> None:
    """The same checks on an already decrypted vault (lines are those of its sorted dump,
    which is how regionhus writes vaults)."""
    import yaml

    check_vault_text(path, yaml.safe_dump(data, sort_keys=True).encode(), required)


def check_vault_text(path: Path, plain: bytes, required: dict[str, list[str]]) -> None:
    """Raise InvalidConfiguration naming every problem of a decrypted vault."""
    rel = str(path)
    try:
        doc = load_yaml_bytes(path, plain)
    except YamlSyntaxError as exc:
        raise InvalidConfiguration([Finding(rel, exc.line, "", exc.message)]) from None
    findings = vault_findings(rel, doc, required)
    if findings:
        raise InvalidConfiguration(findings)
