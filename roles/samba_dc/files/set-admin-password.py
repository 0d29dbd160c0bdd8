"""Set the domain Administrator's password from stdin, on a freshly provisioned DC.

Provisioning is run without --adminpass (a random password; the command line of a
running process is readable by every local user in /proc/<pid>/cmdline), then this
sets the vault's password through the local database. The password only ever travels
on a pipe; it is in no argument and no environment variable.
"""

import sys

from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

password = sys.stdin.readline().rstrip("\n")
if not password:
    sys.exit("no password on stdin")
lp = LoadParm()
lp.load_default()
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
db.setpassword(
    "(sAMAccountName=Administrator)",
    password,
    force_change_at_next_login=False,
    username="Administrator",
)
