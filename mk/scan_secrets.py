"""Secrets in the git history and the working tree: `make lint` fails on any.

What counts (the secrets this region has): private keys (ssh, TLS, any PEM), Ansible
vault contents in plain text (a `vault_*` variable with a value), vault password files,
Borg passphrases, NetBox API tokens, and the Samba admin password on a command line.

Every commit of every ref is read (`git log -p --all`, only the lines each commit adds),
so a secret that was committed and deleted later is still found: it is still in every
clone. The working tree's tracked and untracked (not ignored) files are read too, so
a secret is found before it is committed.

Deliberate fixtures (the broken-input corpus pastes a private key on purpose, its vault
cases are plain-text vaults of made-up values) are listed in `.secrets-allowlist.yml`,
each with a reason: by fingerprint (exactly that secret, anywhere) or by rule and path
pattern (any secret of that kind in those files).

Exit 0: nothing found; 1: secrets found (each named with file, line, commit and what to
do); 64: usage error. Run: `.venv/bin/python mk/scan_secrets.py [--repo DIR]`.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

ALLOWLIST = ".secrets-allowlist.yml"
# Larger files in the working tree are data (images, archives), not configuration.
MAX_FILE_BYTES = 2 * 1024 * 1024

# A value that is a reference, not a secret: Jinja, shell or environment variables,
# placeholders in angle brackets, a lookup, or a function call.
_REFERENCE = r"""(?!\{\{|\$|<|%\(|lookup\()"""
_LITERAL = _REFERENCE + r"""(?P<secret>[^\s'"`#,;)(}{]{8,})"""


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    advice: str


RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        re.compile(
            r"-----BEGIN (?P<kind>[A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----"
            r"(?P<secret>[\s\S]*?)(?:-----END (?P=kind)PRIVATE KEY( BLOCK)?-----|\Z)"
        ),
        "a private key: replace the key pair, then remove the file from history",
    ),
    Rule(
        "plaintext-vault",
        # A vault variable given a value (scalar on the line, or a map below it) in a
        # file that is not encrypted: vault files hold `$ANSIBLE_VAULT;...` only. Keys
        # that name where a vault is (`vault_password_file`, `vault_id`) are settings.
        re.compile(
            r"^vault_(?!\w*_(?:file|files|path|dir|id|ids|list):)\w+:[ \t]*"
            r"(?P<secret>(?:[^\s#].*|\n(?:[ \t]+\S.*(?:\n|\Z))+))",
            re.M,
        ),
        "a vault in plain text: encrypt it (`ansible-vault encrypt --vault-id region@...`)"
        " and change every secret it held",
    ),
    Rule(
        "vault-password",
        re.compile(
            r"""(?i)\b(?:ansible_)?vault[_-]?pass(?:word)?["']?[ \t]*[:=][ \t]*["']?""" + _LITERAL
        ),
        "a vault password: change it (`ansible-vault rekey`); keep the password file outside git",
    ),
    Rule(
        "borg-passphrase",
        re.compile(
            r"""(?i)\b(?:BORG_PASSPHRASE|borg_passphrase)["']?[ \t]*[:=][ \t]*["']?""" + _LITERAL
        ),
        "a Borg passphrase: change the repository's key passphrase (`borg key change-passphrase`)",
    ),
    Rule(
        "netbox-token",
        re.compile(
            r"""(?i)(?:netbox_token["']?[ \t]*[:=][ \t]*["']?|\bToken[ \t]+)"""
            r"""(?P<secret>[0-9a-f]{40})\b|\b(?P<v2>nbt_[A-Za-z0-9]{8,}\.[A-Za-z0-9]{20,})"""
        ),
        "a NetBox API token: revoke it in NetBox and make a new one",
    ),
    Rule(
        "password-on-command-line",
        # samba-tool/smbclient `-U user%password`, `--adminpass=...`, `--password=...`.
        re.compile(
            r"""(?:\s-U[ \t]*["']?[\w.\\@-]+%|--(?:adminpass|password)[= ])["']?""" + _LITERAL
        ),
        "a password on a command line: every local user can read it in /proc; pass it on"
        " stdin, and change it",
    ),
)


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    line: int
    commit: str  # "" for the working tree
    fingerprint: str
    advice: str

    def where(self) -> str:
        origin = f"commit {self.commit[:12]}" if self.commit else "working tree"
        return f"{self.path}:{self.line}: {self.rule} ({origin}, fingerprint {self.fingerprint})"


@dataclass(frozen=True)
class Allowance:
    reason: str
    fingerprint: str | None = None
    rule: str | None = None
    path: str | None = None

    def covers(self, finding: Finding) -> bool:
        if self.fingerprint is not None and self.fingerprint != finding.fingerprint:
            return False
        if self.rule is not None and self.rule != finding.rule:
            return False
        return self.path is None or fnmatch.fnmatchcase(finding.path, self.path)


class AllowlistError(Exception):
    """The allowlist file is not what the scanner can use."""


def fingerprint(rule: str, secret: str) -> str:
    """The same secret gives the same fingerprint wherever it is (whitespace aside)."""
    normalised = "".join(secret.split())
    return hashlib.sha256(f"{rule}\0{normalised}".encode()).hexdigest()[:16]


_NAME = re.compile(r"[A-Za-z_][A-Za-z_.]*")


def _is_a_name(text: str, match: re.Match[str]) -> bool:
    """An unquoted value that is a bare name (no digit, no symbol) is a variable in code
    (`BORG_PASSPHRASE=passphrase`), not a secret; quoted, it is a literal."""
    if "secret" not in match.groupdict() or match.group("secret") is None:
        return False
    before = text[match.start("secret") - 1] if match.start("secret") > 0 else ""
    return before not in "\"'" and _NAME.fullmatch(match.group("secret")) is not None


def scan_text(
    text: str, path: str, commit: str, lines: list[int] | None = None
) -> Iterator[Finding]:
    """Findings in one file's text; `lines` maps the text's lines to the file's line numbers."""
    if text.lstrip().startswith("$ANSIBLE_VAULT;"):
        return
    for rule in RULES:
        for match in rule.pattern.finditer(text):
            secret = match.groupdict().get("secret") or match.groupdict().get("v2") or ""
            if _is_a_name(text, match):
                continue
            index = text.count("\n", 0, match.start())
            line = lines[index] if lines is not None and index < len(lines) else index + 1
            yield Finding(
                rule.name, path, line, commit, fingerprint(rule.name, secret), rule.advice
            )


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip()}")
    return result.stdout


_HUNK = re.compile(r"^@@ -\S+ \+(\d+)(?:,\d+)? @@")


def scan_history(repo: Path) -> Iterator[Finding]:
    """Every line every commit of every ref added, file by file."""
    log = _git(
        repo, "log", "-p", "--all", "--no-color", "--no-ext-diff", "--no-renames",
        "-U0", "--format=commit %H",
    )  # fmt: skip
    commit = path = ""
    added: list[str] = []
    numbers: list[int] = []
    next_line = 0

    def flush() -> Iterator[Finding]:
        if path and added:
            yield from scan_text("\n".join(added) + "\n", path, commit, numbers)

    for raw in log.splitlines():
        if raw.startswith("commit ") and len(raw) == 47:
            yield from flush()
            commit, path, added, numbers = raw[7:], "", [], []
        elif raw.startswith("+++ "):
            yield from flush()
            path = raw[6:] if raw.startswith("+++ b/") else ""
            added, numbers = [], []
        elif raw.startswith("@@"):
            hunk = _HUNK.match(raw)
            next_line = int(hunk.group(1)) if hunk else 0
        elif raw.startswith("+") and path:
            added.append(raw[1:])
            numbers.append(next_line)
            next_line += 1
    yield from flush()


def scan_worktree(repo: Path) -> Iterator[Finding]:
    """Tracked and untracked (not ignored) files as they are now."""
    listing = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in sorted(set(filter(None, listing.split("\0")))):
        file = repo / name
        if not file.is_file() or file.is_symlink() or file.stat().st_size > MAX_FILE_BYTES:
            continue
        data = file.read_bytes()
        if b"\0" in data:
            continue
        yield from scan_text(data.decode("utf-8", errors="replace"), name, "")


def load_allowlist(file: Path) -> list[Allowance]:
    if not file.exists():
        return []
    entries = yaml.safe_load(file.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise AllowlistError(f"{file}: expected a list of entries")
    allowances = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not str(entry.get("reason", "")).strip():
            raise AllowlistError(f"{file}: entry {number} needs a `reason:`")
        unknown = set(entry) - {"reason", "fingerprint", "rule", "path"}
        if unknown:
            raise AllowlistError(f"{file}: entry {number}: unknown key(s) {sorted(unknown)}")
        if "fingerprint" not in entry and not ("rule" in entry and "path" in entry):
            raise AllowlistError(
                f"{file}: entry {number} needs a `fingerprint:`, or both `rule:` and `path:`"
            )
        if entry.get("rule") is not None and entry["rule"] not in {rule.name for rule in RULES}:
            raise AllowlistError(f"{file}: entry {number}: unknown rule {entry['rule']!r}")
        allowances.append(
            Allowance(
                reason=str(entry["reason"]),
                fingerprint=entry.get("fingerprint"),
                rule=entry.get("rule"),
                path=entry.get("path"),
            )
        )
    return allowances


def unallowed(findings: Iterable[Finding], allowances: list[Allowance]) -> list[Finding]:
    """Findings no allowance covers, one per secret and file (its first place)."""
    seen: set[tuple[str, str]] = set()
    result = []
    for finding in findings:
        key = (finding.fingerprint, finding.path)
        if key in seen or any(allowance.covers(finding) for allowance in allowances):
            continue
        seen.add(key)
        result.append(finding)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--no-worktree", action="store_true", help="the history only")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 64
    repo: Path = args.repo
    try:
        allowances = load_allowlist(repo / ALLOWLIST)
        findings = list(scan_history(repo))
        if not args.no_worktree:
            findings += list(scan_worktree(repo))
    except (AllowlistError, RuntimeError) as exc:
        print(f"scan_secrets: {exc}", file=sys.stderr)
        return 1
    found = unallowed(findings, allowances)
    for finding in found:
        print(f"{finding.where()}\n    -> {finding.advice}", file=sys.stderr)
    if found:
        print(
            f"scan_secrets: {len(found)} secret(s) found. A secret once committed stays in every"
            " clone: change it, then rewrite the history (git filter-repo). A deliberate test"
            f" fixture goes into {ALLOWLIST} with its fingerprint and a reason.",
            file=sys.stderr,
        )
        return 1
    print(f"scan_secrets: no secrets in the history or the working tree ({len(findings)} allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
