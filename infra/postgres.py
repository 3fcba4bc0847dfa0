"""The PostgreSQL cluster from Debian's ``postgresql`` package, managed with its wrappers.

We do not run a private ``initdb``: Debian's package already created the cluster
``15/main`` (data in /var/lib/postgresql/15/main, config in /etc/postgresql/15/main) and
``pg_ctlcluster`` starts it as the ``postgres`` OS user even when called as root.

Administrative SQL (creating the login role) runs as the ``postgres`` superuser through
``runuser -u postgres -- psql`` over the unix socket: local connections use *peer*
authentication, so a root process cannot simply connect as ``postgres``. Everything else
-- creating and dropping the per-service databases, the services themselves -- connects
over TCP to 127.0.0.1 as the ``jip`` role with a password (Debian's default pg_hba.conf has
``host all all 127.0.0.1/32 scram-sha-256``).

Public API: :func:`start`, :func:`stop`, :func:`status`, :func:`ensure_role`,
:func:`ensure_database`, :func:`drop_database`, :func:`check_tcp_login`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import errors, sql

from infra._process import InfraError, StartResult, Status, format_tails, port_is_open
from infra.settings import InfraSettings

STARTUP_TIMEOUT_S = 30.0
ADMIN_OS_USER = "postgres"


@dataclass(frozen=True)
class Cluster:
    """One row of ``pg_lsclusters --json``."""

    version: str
    name: str
    port: int
    running: bool
    log_file: Path | None


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise InfraError(
            f"PostgreSQL server tools are not installed (`{name}` not found); "
            "run `sudo infra/bootstrap.sh` first."
        )
    return path


def _log_file(settings: InfraSettings, cluster: Cluster | None = None) -> Path:
    if cluster is not None and cluster.log_file is not None:
        return cluster.log_file
    return settings.pg_log_file


def cluster_info(settings: InfraSettings) -> Cluster:
    """The configured cluster as reported by ``pg_lsclusters``; error if it does not exist."""
    lsclusters = _require_tool("pg_lsclusters")
    _require_tool("pg_ctlcluster")
    proc = subprocess.run(  # noqa: S603
        [lsclusters, "--json"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise InfraError(f"pg_lsclusters failed: {proc.stderr.strip()}")
    for row in json.loads(proc.stdout or "[]"):
        if str(row.get("version")) == settings.pg_cluster_version and (
            row.get("cluster") == settings.pg_cluster_name
        ):
            logfile = row.get("logfile")
            return Cluster(
                version=str(row["version"]),
                name=row["cluster"],
                port=int(row["port"]),
                running=bool(row.get("running")),
                log_file=Path(logfile) if logfile else None,
            )
    raise InfraError(
        f"PostgreSQL cluster {settings.pg_cluster_version}/{settings.pg_cluster_name} does not "
        f"exist; create it with `pg_createcluster {settings.pg_cluster_version} "
        f"{settings.pg_cluster_name}` (or set JIP_PG_CLUSTER_VERSION / JIP_PG_CLUSTER_NAME)."
    )


def _as_postgres() -> list[str]:
    """Prefix that runs a command as the postgres OS user (peer authentication)."""
    if os.geteuid() == 0:
        return [_require_tool("runuser"), "-u", ADMIN_OS_USER, "--"]
    if shutil.which("sudo"):
        return ["sudo", "-n", "-u", ADMIN_OS_USER, "--"]
    raise InfraError("Administering PostgreSQL needs root (or sudo to the postgres user).")


def _admin_argv(database: str = "postgres") -> list[str]:
    # -X: ignore ~/.psqlrc; -q -t -A: bare values; ON_ERROR_STOP: a failing statement fails
    # the command (psql otherwise exits 0 after SQL errors in a script).
    return [
        *_as_postgres(),
        "psql",
        "-X",
        "-q",
        "-t",
        "-A",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        database,
    ]


def admin_sql(settings: InfraSettings, script: str, variables: dict[str, str] | None = None) -> str:
    """Run a psql script as the ``postgres`` superuser over the unix socket; return stdout.

    ``variables`` become psql variables (``-v name=value``), referenced in the script as
    ``:'name'`` (a quoted literal) or ``:"name"`` (a quoted identifier), so values are
    never pasted into SQL by hand. (psql does not interpolate variables in ``-c``, hence
    the script is fed on stdin.)
    """
    argv = _admin_argv()
    # Port of the cluster: psql picks the socket file .s.PGSQL.<port>.
    argv += ["-p", str(settings.pg_port)]
    for name, value in (variables or {}).items():
        argv += ["-v", f"{name}={value}"]
    # runuser keeps root's cwd, which the postgres user may not be allowed to read.
    proc = subprocess.run(  # noqa: S603
        argv, input=script, capture_output=True, text=True, check=False, cwd="/"
    )
    if proc.returncode != 0:
        raise InfraError(
            f"psql as {ADMIN_OS_USER} failed: {proc.stderr.strip()}"
            + format_tails(settings.pg_log_file, lines=15)
        )
    return proc.stdout


def _answers(settings: InfraSettings) -> bool:
    try:
        return admin_sql(settings, "SELECT 1;").strip() == "1"
    except InfraError:
        return False


def start(settings: InfraSettings) -> StartResult:
    """Start the cluster if it is down, then make sure the ``jip`` role can log in over TCP.

    Idempotent. Raises :class:`InfraError` with the tail of the server log on failure.
    """
    cluster = cluster_info(settings)
    label = f"{cluster.version}/{cluster.name}"
    if cluster.port != settings.pg_port:
        raise InfraError(
            f"PostgreSQL cluster {label} listens on port {cluster.port}, but JIP_PG_PORT is "
            f"{settings.pg_port}; make them agree."
        )
    already = cluster.running
    if not already:
        _configure(cluster)
        if port_is_open(settings.pg_host, settings.pg_port):
            raise InfraError(
                f"port {settings.pg_port} is taken by a process that is not PostgreSQL "
                f"cluster {label} (`ss -ltnp 'sport = :{settings.pg_port}'` shows which)."
            )
        proc = subprocess.run(  # noqa: S603
            [_require_tool("pg_ctlcluster"), cluster.version, cluster.name, "start"],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise InfraError(
                f"`pg_ctlcluster {cluster.version} {cluster.name} start` failed: "
                f"{(proc.stdout + proc.stderr).strip()}"
                + format_tails(_log_file(settings, cluster))
            )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not _answers(settings):
        if time.monotonic() > deadline:
            raise InfraError(
                f"PostgreSQL {label} does not answer `SELECT 1` after "
                f"{STARTUP_TIMEOUT_S:.0f} s." + format_tails(_log_file(settings, cluster))
            )
        time.sleep(0.2)
    ensure_role(settings)
    check_tcp_login(settings)
    pid = _postmaster_pid(cluster)
    where = f"{settings.pg_host}:{settings.pg_port}"
    detail = f"already running on {where}" if already else f"started on {where}"
    return StartResult("postgres", already, pid, detail)


#: What the project needs of the cluster beyond Debian's defaults, applied when infra
#: starts it. Four services each hold about 15-20 connections (event store pool,
#: read-model pool, followers' leases, key store, revocations), a test session runs them
#: all, and two checkouts may run their suites at once: Debian's 100 ran out ("remaining
#: connection slots are reserved for non-replication superuser connections").
CLUSTER_SETTINGS = (
    "# Written by the JIP project's infra (infra/postgres.py).\nmax_connections = 400\n"
)


def _configure(cluster: Cluster) -> None:
    conf_d = Path(f"/etc/postgresql/{cluster.version}/{cluster.name}/conf.d")
    if not conf_d.is_dir():
        return
    target = conf_d / "jip.conf"
    try:
        if not target.exists() or target.read_text() != CLUSTER_SETTINGS:
            target.write_text(CLUSTER_SETTINGS)
    except PermissionError:
        # Not root: the cluster keeps its own settings (enough for one test session).
        pass


def _postmaster_pid(cluster: Cluster) -> int | None:
    pid_file = Path(f"/var/run/postgresql/{cluster.version}-{cluster.name}.pid")
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def ensure_role(settings: InfraSettings) -> None:
    """Create the login role (``jip``, with CREATEDB) if missing and (re)set its password.

    Setting the password every time keeps the role in step with JIP_PG_PASSWORD.
    """
    script = """\
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
SELECT format('ALTER ROLE %I WITH LOGIN CREATEDB PASSWORD %L', :'role', :'password') \\gexec
"""
    admin_sql(settings, script, {"role": settings.pg_user, "password": settings.pg_password})


def ensure_keystore(settings: InfraSettings) -> None:
    """The key store's database, owned by a login role of the same name with its own
    generated password (`InfraSettings.keystore_dsn`), closed to every other role: the
    services' role ``jip`` cannot read the keys, only a process given the key store's
    credentials can."""
    script = """\
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOCREATEDB PASSWORD %L', :'role', :'password') \\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'role') \\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'role') \\gexec
"""
    admin_sql(
        settings,
        script,
        {"role": settings.keystore_database, "password": settings.keystore_password()},
    )


def drop_keystore(settings: InfraSettings) -> None:
    """Drop the key store's database (its keys with it); `ensure_keystore` makes it
    again, empty. As the superuser: the services' role cannot even connect to it."""
    admin_sql(
        settings,
        "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'role') \\gexec\n",
        {"role": settings.keystore_database},
    )


def connect(settings: InfraSettings, database: str = "postgres") -> psycopg.Connection:
    """An autocommit psycopg connection as the project's role over TCP."""
    return psycopg.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        dbname=database,
        autocommit=True,
        connect_timeout=5,
    )


def check_tcp_login(settings: InfraSettings) -> None:
    """Fail clearly unless ``jip`` can log in with its password over TCP (pg_hba.conf)."""
    try:
        with connect(settings) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        raise InfraError(
            f"{settings.pg_user}@{settings.pg_host}:{settings.pg_port} cannot log in over TCP "
            f"with its password: {str(exc).strip()}\nDebian's default pg_hba.conf allows it "
            "(`host all all 127.0.0.1/32 scram-sha-256`); check "
            f"/etc/postgresql/{settings.pg_cluster_version}/{settings.pg_cluster_name}/pg_hba.conf."
            + format_tails(settings.pg_log_file, lines=15)
        ) from exc


def ensure_database(settings: InfraSettings, name: str) -> bool:
    """Create database ``name`` owned by the project's role if missing; True if created.

    Idempotent and safe against a concurrent creator (duplicate_database is ignored).
    Connects over TCP as ``jip`` (which has CREATEDB), so it needs no root and works from
    tests; the role must exist (``start`` creates it).
    """
    with connect(settings) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        for attempt in range(10):
            try:
                conn.execute(statement)
                return True
            except errors.DuplicateDatabase:
                return False
            except errors.ObjectInUse:
                # CREATE DATABASE copies template1 and fails with "source database
                # template1 is being accessed by other users" while another session
                # (e.g. a parallel test worker creating its database) uses it.
                if attempt == 9:
                    raise
                time.sleep(0.2 * (attempt + 1))
    return False


def drop_database(settings: InfraSettings, name: str) -> bool:
    """Drop database ``name`` if it exists, terminating its connections; True if dropped.

    Only the owner (or a superuser) can drop a database, so this works on the databases
    created by :func:`ensure_database`.
    """
    with connect(settings) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    return exists is not None


def list_databases(settings: InfraSettings) -> list[str]:
    """Names of the databases owned by the project's role."""
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
            "WHERE r.rolname = %s ORDER BY datname",
            (settings.pg_user,),
        ).fetchall()
    return [row[0] for row in rows]


def stop(settings: InfraSettings) -> str:
    """Stop the cluster with ``pg_ctlcluster ... stop`` (only ``down --postgres`` does)."""
    cluster = cluster_info(settings)
    if not cluster.running:
        return "not running"
    proc = subprocess.run(  # noqa: S603
        [_require_tool("pg_ctlcluster"), cluster.version, cluster.name, "stop"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise InfraError(
            f"`pg_ctlcluster {cluster.version} {cluster.name} stop` failed: "
            f"{(proc.stdout + proc.stderr).strip()}"
        )
    return f"stopped cluster {cluster.version}/{cluster.name}"


def status(settings: InfraSettings) -> Status:
    """Whether the cluster runs and the project's role can log in; lists its databases."""
    address = f"{settings.pg_host}:{settings.pg_port}"
    try:
        cluster = cluster_info(settings)
    except InfraError as exc:
        return Status("postgres", False, address, None, str(exc).splitlines()[0])
    if not cluster.running:
        taken = port_is_open(settings.pg_host, settings.pg_port)
        return Status(
            "postgres",
            False,
            address,
            None,
            "port taken by another process" if taken else "stopped",
        )
    pid = _postmaster_pid(cluster)
    try:
        databases = list_databases(settings)
    except psycopg.Error as exc:
        return Status("postgres", True, address, pid, f"{settings.pg_user} cannot log in: {exc}")
    return Status("postgres", True, address, pid, ", ".join(databases) or "no databases")
