"""The domain password's way into Samba, as the samba_dc role uses it, never shows in
the process list: the setter of a new domain's password (stdin) and samba-tool's
PASSWD_FD, exercised on dc1 (binding to dc1 itself: a fresh password has not replicated yet)
with a scratch account while /proc is sampled."""

from __future__ import annotations

import shlex
from pathlib import Path

from regionhus.config import load_region
from regionhus.lab import run_on

SETTER = Path(__file__).resolve().parents[2] / "roles/samba_dc/files/set-admin-password.py"
USER = "rhtest-pwfd"

SCRIPT = r"""
set -u
pw="Rh-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')-9a"
samba-tool user delete {user} >/dev/null 2>&1
samba-tool user create {user} --random-password >/dev/null || exit 2
( while :; do
    cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n'; sleep 0.05
  done ) > /root/rh-samples &
sampler=$!
printf '%s\n' "$pw" | python3 /root/rh-setter.py || echo SETTER-FAILED
printf '%s\n' "$pw" | PASSWD_FD=0 samba-tool user show {user} -H ldap://dc1.{dns} \
  -U '{netbios}\{user}' --attributes=sAMAccountName >/dev/null || echo BIND-FAILED
printf '%s\n' wrong-password-123 | PASSWD_FD=0 samba-tool user show {user} -H ldap://dc1.{dns} \
  -U '{netbios}\{user}' >/dev/null 2>&1 && echo WRONG-PASSWORD-ACCEPTED
kill $sampler; wait $sampler 2>/dev/null
grep -qF -- "$pw" /root/rh-samples && echo PASSWORD-SEEN
echo "samples: $(wc -l < /root/rh-samples)"
samba-tool user delete {user} >/dev/null
rm -f /root/rh-samples /root/rh-setter.py
"""


def test_the_domain_password_never_appears_in_the_process_list() -> None:
    setter = (
        SETTER.read_text()
        .replace('"(sAMAccountName=Administrator)"', f'"(sAMAccountName={USER})"')
        .replace('username="Administrator"', f'username="{USER}"')
    )
    run_on("dc1", f"cat > /root/rh-setter.py <<'PY'\n{setter}\nPY")
    directory = load_region().region.directory
    script = SCRIPT.format(user=USER, dns=directory.dns_domain, netbios=directory.netbios_domain)
    proc = run_on("dc1", f"bash -c {shlex.quote(script)}", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for failure in ("SETTER-FAILED", "BIND-FAILED", "WRONG-PASSWORD-ACCEPTED", "PASSWORD-SEEN"):
        assert failure not in out, out
    assert int(out.split("samples: ")[1].split()[0]) > 0, out
