"""A real NetBox on this machine: install, start, stop.

NetBox (PyPI wheel) lives in its own Python 3.12 venv under state_dir()/netbox, because
its pinned Django stack must not leak into the project venv. PostgreSQL 15 and Redis
come from Debian and listen on 127.0.0.1 only. There is no systemd as PID 1 on these
machines, so services are started with pg_ctlcluster / redis-server --daemonize and
gunicorn --daemon.

Several *instances* share the venv, PostgreSQL and Redis but have their own database,
port and token: `dev` for the operator, `test` for the test session (wiped freely),
`bench` for the national-scale benchmark, so none of them spoils another's data.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from regionhus.errors import RegionhusError
from regionhus.paths import state_dir
from regionhus.privatefile import write_private

NETBOX_VERSION = "4.7.3"
ADMIN_USER = "admin"
HOST = "127.0.0.1"
REDIS_PORT = 6379
PG_VERSION = "15"
PG_CLUSTER = "main"
TEMPLATE_DB = "netbox_template_" + NETBOX_VERSION.replace(".", "_")


class NetBoxServerError(RegionhusError):
    """Setting up or starting the local NetBox failed; the message says what to do."""


@dataclass(frozen=True)
class Instance:
    name: str
    port: int
    redis_db: int

    @property
    def database(self) -> str:
        return "netbox" if self.name == "dev" else f"netbox_{self.name}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def root(self) -> Path:
        """NETBOX_ROOT of this instance: conf/, media, pid file, logs, token."""
        return netbox_home() / "instances" / self.name


INSTANCES = {
    "dev": Instance("dev", 8470, 0),
    "test": Instance("test", 8471, 2),
    "bench": Instance("bench", 8472, 4),
    # The production rehearsal's NetBox (tests/lab/test_rehearsal.py): its own, so the
    # NetBox tests and the rehearsal never reset each other's data.
    "rehearsal": Instance("rehearsal", 8473, 6),
}


def instance(name: str | None = None) -> Instance:
    name = name or os.environ.get("REGIONHUS_NETBOX_INSTANCE", "dev")
    try:
        return INSTANCES[name]
    except KeyError:
        raise NetBoxServerError(
            f"unknown NetBox instance {name!r}; use one of {', '.join(INSTANCES)}"
        ) from None


def netbox_home() -> Path:
    return state_dir() / "netbox"


def venv_dir() -> Path:
    return netbox_home() / "venv"


def _log(msg: str) -> None:
    print(f"netbox: {msg}", flush=True)


def _run(
    cmd: list[str], *, env: dict[str, str] | None = None, check: bool = True, quiet: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, env=env, text=True, capture_output=quiet)
    if check and proc.returncode != 0:
        out = (proc.stdout or "") + (proc.stderr or "")
        raise NetBoxServerError(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{out[-3000:]}")
    return proc


# --- Debian services ------------------------------------------------------------------


def ensure_debian_packages() -> None:
    missing = [
        pkg
        for pkg, binary in (("postgresql", "pg_ctlcluster"), ("redis-server", "redis-server"))
        if shutil.which(binary) is None
    ]
    if not missing:
        return
    _log(f"installing {' '.join(missing)} from Debian")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-q"], env=env)
    _run(["apt-get", "install", "-y", "-q", *missing], env=env)


def _pg_running() -> bool:
    proc = _run(["pg_lsclusters", "-h"], check=False)
    for line in proc.stdout.splitlines():
        fields = line.split()
        if fields[:2] == [PG_VERSION, PG_CLUSTER]:
            return fields[3] == "online"
    raise NetBoxServerError(
        f"PostgreSQL cluster {PG_VERSION}/{PG_CLUSTER} not found; "
        f"create it with `pg_createcluster {PG_VERSION} {PG_CLUSTER}`"
    )


def ensure_postgres() -> None:
    if not _pg_running():
        _log("starting PostgreSQL")
        _run(["pg_ctlcluster", PG_VERSION, PG_CLUSTER, "start"])


def _psql(sql: str, db: str = "postgres") -> str:
    proc = _run(["runuser", "-u", "postgres", "--", "psql", "-d", db, "-tAqc", sql])
    return proc.stdout.strip()


def ensure_database(inst: Instance, password: str) -> None:
    if _psql("SELECT 1 FROM pg_roles WHERE rolname='netbox'") != "1":
        _psql(f"CREATE ROLE netbox LOGIN PASSWORD '{password}'")
    else:
        # Keeps the role in step with secrets.json if that file was recreated.
        _psql(f"ALTER ROLE netbox PASSWORD '{password}'")
    if _db_exists(inst.database):
        return
    if _db_exists(TEMPLATE_DB):
        # Cloning the migrated template takes seconds; migrating from scratch minutes.
        _log(f"creating database {inst.database} from the migrated template")
        _psql(f"CREATE DATABASE {inst.database} OWNER netbox TEMPLATE {TEMPLATE_DB}")
        (inst.root / f"migrated-{NETBOX_VERSION}").parent.mkdir(parents=True, exist_ok=True)
        (inst.root / f"migrated-{NETBOX_VERSION}").touch()
    else:
        _log(f"creating database {inst.database}")
        _psql(f"CREATE DATABASE {inst.database} OWNER netbox")


def _db_exists(name: str) -> bool:
    return _psql(f"SELECT 1 FROM pg_database WHERE datname='{name}'") == "1"


def save_template(inst: Instance) -> None:
    """Keep a freshly migrated, still empty database as the template for new instances."""
    if not _db_exists(TEMPLATE_DB):
        _psql(f"CREATE DATABASE {TEMPLATE_DB} OWNER netbox TEMPLATE {inst.database}")


def _redis_ping() -> bool:
    proc = _run(["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "ping"], check=False)
    return proc.stdout.strip() == "PONG"


def ensure_redis() -> None:
    if _redis_ping():
        return
    _log("starting Redis")
    home = netbox_home()
    _run(
        [
            "redis-server",
            "--bind",
            HOST,
            "--port",
            str(REDIS_PORT),
            "--daemonize",
            "yes",
            "--dir",
            str(home),
            "--pidfile",
            str(home / "redis.pid"),
            "--logfile",
            str(home / "redis.log"),
            "--save",
            "",
        ]
    )
    for _ in range(50):
        if _redis_ping():
            return
        time.sleep(0.1)
    raise NetBoxServerError(f"Redis did not answer on {HOST}:{REDIS_PORT}; see {home}/redis.log")


# --- NetBox venv and configuration ----------------------------------------------------


def find_python312() -> str:
    candidates = [
        os.environ.get("REGIONHUS_PYTHON312", ""),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))),
        shutil.which("python3.12") or "",
    ]
    for cand in candidates:
        if cand and os.access(cand, os.X_OK):
            return cand
    raise NetBoxServerError(
        "NetBox 4.7 needs Python 3.12: install it (pyenv install 3.12) or point "
        "REGIONHUS_PYTHON312 at a python3.12 binary"
    )


def _installed_version() -> str | None:
    py = venv_dir() / "bin" / "python"
    if not py.exists():
        return None
    proc = _run(
        [str(py), "-c", "import importlib.metadata as m; print(m.version('netbox'))"], check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_venv() -> None:
    if _installed_version() == NETBOX_VERSION and (venv_dir() / "bin" / "gunicorn").exists():
        return
    _log(f"installing NetBox {NETBOX_VERSION} into {venv_dir()} (about a minute)")
    started = time.monotonic()
    if not (venv_dir() / "bin" / "python").exists():
        _run([find_python312(), "-m", "venv", str(venv_dir())])
    _run(
        [str(venv_dir() / "bin" / "pip"), "install", "-q", f"netbox=={NETBOX_VERSION}", "gunicorn"]
    )
    _log(f"installed in {time.monotonic() - started:.0f} s")


def _secrets() -> dict[str, str]:
    """Per-machine secrets, generated once; never in git."""
    path = netbox_home() / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    values = {
        "db_password": secrets.token_urlsafe(24),
        "secret_key": secrets.token_urlsafe(60),
        "pepper": secrets.token_urlsafe(60),
        "admin_password": secrets.token_urlsafe(18),
    }
    write_private(path, json.dumps(values))
    return values


CONFIG_TEMPLATE = """\
# Written by `regionhus netbox up`; regenerated on every start.
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
DATABASE = {{
    'ENGINE': 'django.db.backends.postgresql',
    'NAME': {db!r}, 'USER': 'netbox', 'PASSWORD': {db_password!r},
    'HOST': '127.0.0.1', 'PORT': '', 'CONN_MAX_AGE': 300,
}}
REDIS = {{
    'tasks': {{'HOST': '127.0.0.1', 'PORT': {redis_port}, 'DATABASE': {redis_tasks},
               'PASSWORD': '', 'SSL': False}},
    'caching': {{'HOST': '127.0.0.1', 'PORT': {redis_port}, 'DATABASE': {redis_cache},
                 'PASSWORD': '', 'SSL': False}},
}}
SECRET_KEY = {secret_key!r}
# v2 tokens (nbt_...) are stored as HMAC digests and need at least one pepper.
API_TOKEN_PEPPERS = {{1: {pepper!r}}}
# No traffic leaves the machine: no census, no release check, no plugins.
CENSUS_REPORTING_ENABLED = False
RELEASE_CHECK_URL = None
MEDIA_ROOT = {media!r}
# The inventory cache is validated against the change log: keep it.
CHANGELOG_RETENTION = 0
TIME_ZONE = 'Europe/Oslo'
"""


def write_config(inst: Instance) -> None:
    sec = _secrets()
    conf = inst.root / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (inst.root / "media").mkdir(exist_ok=True)
    write_private(
        conf / "configuration.py",
        CONFIG_TEMPLATE.format(
            db=inst.database,
            db_password=sec["db_password"],
            redis_port=REDIS_PORT,
            redis_tasks=inst.redis_db,
            redis_cache=inst.redis_db + 1,
            secret_key=sec["secret_key"],
            pepper=sec["pepper"],
            media=str(inst.root / "media"),
        ),
    )


def netbox_env(inst: Instance) -> dict[str, str]:
    return {**os.environ, "NETBOX_ROOT": str(inst.root)}


def manage(inst: Instance, *args: str, stdin: str | None = None) -> str:
    """Run a NetBox management command for this instance."""
    cmd = [str(venv_dir() / "bin" / "netbox"), *args]
    proc = subprocess.run(cmd, env=netbox_env(inst), text=True, capture_output=True, input=stdin)
    if proc.returncode != 0:
        raise NetBoxServerError(
            f"`netbox {' '.join(args)}` failed for instance {inst.name}:\n"
            f"{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return proc.stdout


def migrate(inst: Instance) -> None:
    marker = inst.root / f"migrated-{NETBOX_VERSION}"
    if marker.exists():
        return
    _log(f"migrating database {inst.database} (first start takes a minute or two)")
    manage(inst, "migrate", "--no-input")
    save_template(inst)
    marker.touch()


# Runs inside the NetBox venv (Django set up by `netbox shell -c`): creates the admin user
# and, when asked, a fresh v2 token whose plaintext is printed once.
# The admin password comes on stdin: a `-c` argument is visible to every local user
# in the process list (/proc/<pid>/cmdline) for as long as the shell runs.
BOOTSTRAP = """
from users.models import Token, User
import json
import sys
u, _ = User.objects.get_or_create(username={user!r}, defaults={{'is_superuser': True}})
u.is_superuser = True; u.is_active = True
u.set_password(sys.stdin.readline().rstrip("\\n")); u.save()
if {new_token}:
    Token.objects.filter(user=u, description='regionhus').delete()
    t = Token(user=u, description='regionhus', write_enabled=True)
    t.save()
    print('TOKEN=' + json.dumps('nbt_' + t.key + '.' + t.token))
"""


def token_path(inst: Instance) -> Path:
    return inst.root / "token"


def bootstrap_admin(inst: Instance, *, new_token: bool) -> None:
    out = manage(
        inst,
        "shell",
        "--no-imports",
        "-c",
        BOOTSTRAP.format(user=ADMIN_USER, new_token=new_token),
        stdin=_secrets()["admin_password"] + "\n",
    )
    for line in out.splitlines():
        if line.startswith("TOKEN="):
            write_private(token_path(inst), json.loads(line.removeprefix("TOKEN=")) + "\n")
            write_env_file(inst)
            return
    if new_token:
        raise NetBoxServerError(f"creating the API token printed no token:\n{out[-2000:]}")


def write_env_file(inst: Instance) -> Path:
    """An env file an operator can copy to ~/.config/regionhus/netbox.env to select NetBox."""
    path = inst.root / "netbox.env"
    write_private(
        path, f"REGIONHUS_NETBOX_URL={inst.url}\nREGIONHUS_NETBOX_TOKEN={read_token(inst)}\n"
    )
    return path


def read_token(inst: Instance) -> str:
    try:
        return token_path(inst).read_text().strip()
    except FileNotFoundError:
        raise NetBoxServerError(
            f"no API token for NetBox instance {inst.name}: run `regionhus netbox up`"
        ) from None


# --- gunicorn -------------------------------------------------------------------------


def _pid(inst: Instance) -> int | None:
    try:
        pid = int((inst.root / "gunicorn.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def api_status(inst: Instance, token: str | None = None, timeout: float = 3.0) -> int | None:
    """HTTP status of /api/status/ (None when nothing answers)."""
    req = urllib.request.Request(f"{inst.url}/api/status/")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def start_gunicorn(inst: Instance) -> None:
    if _pid(inst) is not None and api_status(inst) is not None:
        return
    _log(f"starting gunicorn on {inst.url}")
    gunicorn = venv_dir() / "bin" / "gunicorn"
    _run(
        [
            str(gunicorn),
            "--daemon",
            "--bind",
            f"{HOST}:{inst.port}",
            "--workers",
            "2",
            "--threads",
            "2",
            "--timeout",
            "300",
            "--max-requests",
            "5000",
            "--pid",
            str(inst.root / "gunicorn.pid"),
            "--error-logfile",
            str(inst.root / "gunicorn.log"),
            "--capture-output",
            "netbox.wsgi",
        ],
        env=netbox_env(inst),
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if api_status(inst) is not None:
            return
        time.sleep(0.3)
    raise NetBoxServerError(
        f"NetBox did not answer on {inst.url} within 90 s; see {inst.root}/gunicorn.log"
    )


# --- public operations ----------------------------------------------------------------


def up(name: str | None = None) -> Instance:
    """Install what is missing and start NetBox; safe to run again at any time."""
    inst = instance(name)
    netbox_home().mkdir(parents=True, exist_ok=True)
    ensure_debian_packages()
    ensure_postgres()
    ensure_redis()
    ensure_venv()
    ensure_database(inst, _secrets()["db_password"])
    write_config(inst)
    migrate(inst)
    start_gunicorn(inst)
    token_ok = token_path(inst).exists() and api_status(inst, read_token(inst)) == 200
    if not token_ok:
        _log("creating admin user and API token")
        bootstrap_admin(inst, new_token=True)
    if api_status(inst, read_token(inst)) != 200:
        raise NetBoxServerError(
            f"the new API token is refused by {inst.url}; see {inst.root}/gunicorn.log"
        )
    return inst


def stop_gunicorn(inst: Instance) -> bool:
    pid = _pid(inst)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if _pid(inst) is None:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def down(name: str | None = None, *, services: bool = False) -> Instance:
    """Stop this instance's gunicorn; with services, also Redis and PostgreSQL (data kept)."""
    inst = instance(name)
    if stop_gunicorn(inst):
        _log(f"stopped {inst.name} on {inst.url}")
    if services:
        if any(_pid(other) for other in INSTANCES.values()):
            _log("other NetBox instances still run: leaving Redis and PostgreSQL up")
            return inst
        if _redis_ping():
            _run(
                ["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "shutdown", "nosave"], check=False
            )
        if shutil.which("pg_lsclusters") and _pg_running():
            _run(["pg_ctlcluster", PG_VERSION, PG_CLUSTER, "stop"])
        _log("stopped Redis and PostgreSQL")
    return inst


def status(name: str | None = None) -> dict[str, object]:
    inst = instance(name)
    token = token_path(inst).read_text().strip() if token_path(inst).exists() else None
    return {
        "instance": inst.name,
        "url": inst.url,
        "installed": _installed_version(),
        "running": _pid(inst) is not None,
        "api": api_status(inst, token),
        "env_file": str(inst.root / "netbox.env"),
    }


def reset_database(name: str) -> Instance:
    """Drop and recreate an instance's database (test and bench only)."""
    inst = instance(name)
    if inst.name == "dev":
        raise NetBoxServerError("refusing to wipe the dev instance")
    stop_gunicorn(inst)
    # On a fresh machine the test session gets here before anything is installed.
    ensure_debian_packages()
    ensure_postgres()
    _psql(f"DROP DATABASE IF EXISTS {inst.database} WITH (FORCE)")
    for marker in inst.root.glob("migrated-*"):
        marker.unlink()
    token_path(inst).unlink(missing_ok=True)
    return up(name)
