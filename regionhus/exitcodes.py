"""Every command's exit codes, in one place: the help texts and the README read them.

CI scripts branch on these, so they are a contract: 2 means "changes pending" and only
`plan` returns it; a mistyped option or argument is 64 (EX_USAGE of sysexits.h) for
every command, so it can never pass for "changes pending" or "nothing to do".
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # a check found a problem, a run failed, or the input was invalid
    PENDING = 2  # plan only: changes (or unknowns) pending
    BAD_RECORDS = 3  # NetBox holds records the inventory cannot use
    USAGE = 64  # unknown option, missing argument, bad value (sysexits EX_USAGE)


COMMON: dict[Exit, str] = {
    Exit.OK: "done",
    Exit.FAILED: "failed: invalid input, missing secrets, or the work failed (see the message)",
    Exit.USAGE: "usage error: unknown option, missing argument or bad value",
}

# Per command (its path below `regionhus`), what differs from COMMON.
SPECIFIC: dict[str, dict[Exit, str]] = {
    "plan": {
        Exit.OK: "no changes pending",
        Exit.PENDING: "changes (or unknowns) pending",
        Exit.FAILED: (
            "error: invalid configuration, missing secrets, NetBox unreachable, "
            "a host or task failed"
        ),
    },
    "apply": {
        Exit.OK: "applied, or nothing to apply",
        Exit.FAILED: "not or partly applied (the apply record says what became of each host)",
    },
    "validate": {Exit.OK: "every file is valid", Exit.FAILED: "problems found (listed)"},
    "backup status": {
        Exit.OK: "every repository is fresh",
        Exit.FAILED: "a repository is late, tampered with, over its quota or its disk full",
    },
    "backup drill": {Exit.OK: "restore verified", Exit.FAILED: "restore failed or could not run"},
    "backup rollback": {
        Exit.OK: "rolled back and every client reset",
        Exit.FAILED: "refused or failed, or a client could not be reset (named)",
    },
    "netbox check": {Exit.OK: "no drift", Exit.FAILED: "drift between kommuner/ and NetBox"},
    "netbox status": {Exit.OK: "NetBox answers", Exit.FAILED: "NetBox is not usable"},
    "lab status": {Exit.OK: "the lab is up", Exit.FAILED: "the lab is not (fully) up"},
}

# Commands that read the inventory can meet NetBox records they cannot use.
READS_INVENTORY = ("inventory", "plan", "apply", "audit", "backup status")


def codes_for(command: str) -> dict[Exit, str]:
    codes = {**COMMON, **SPECIFIC.get(command, {})}
    if command in READS_INVENTORY:
        codes[Exit.BAD_RECORDS] = "NetBox holds records the inventory cannot use (listed)"
    return dict(sorted(codes.items()))


def epilog(command: str) -> str:
    """The "Exit codes" block for a command's --help (\\b keeps click from rewrapping)."""
    lines = [f"  {int(code):<3} {text}" for code, text in codes_for(command).items()]
    return "\b\nExit codes:\n" + "\n".join(lines)
