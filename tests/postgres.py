"""A throwaway PostgreSQL server for the tests: ``initdb`` in a temporary folder, a Unix socket only.

:func:`missing` says why no server can be started here (no ``psycopg``, no ``initdb``), or
``None``. :class:`Cluster` creates a cluster under ``/tmp/lb-pg-*``, starts it listening on a Unix
socket in that folder and on no TCP port, hands out one fresh database per caller
(:meth:`Cluster.database`), and stops and removes everything in :meth:`Cluster.stop`. A
session killed before it could stop its cluster leaves the cluster behind; the next session
stops and removes it (``owner.pid`` names the process that started it).

Debian does not put ``initdb`` and ``pg_ctl`` on ``PATH``; they are looked up there first, then
under ``/usr/lib/postgresql/<version>/bin`` (newest first). PostgreSQL refuses to run as root, so
as root the cluster belongs to, and runs as, the ``postgres`` user (``nobody`` without one).

Like a production server in China, and unlike SQLite, the cluster collates text by language
(ICU's root locale ``und``, as ``en_US.UTF-8`` or ``zh_CN.UTF-8`` would), not byte order, and
answers times in ``Asia/Shanghai`` (+08:00), not UTC: nothing may rely on either. Durability is
off (``fsync``, ``full_page_writes``): the data lives for one test session.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
SUPERUSER = "postgres"  # the cluster's superuser role (not the OS user)
SETTINGS = {
    "listen_addresses": "''",  # no TCP: the Unix socket in the cluster's folder only
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",  # a service engine keeps a pool of connections per store
    "timezone": "'Asia/Shanghai'",
    "log_min_messages": "warning",
}


def bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on ``PATH``, else Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    version = lambda d: [int(n) for n in re.findall(r"\d+", d)]  # noqa: E731
    for d in sorted(glob.glob(DEBIAN_BINDIRS), key=version, reverse=True):
        if os.access(Path(d) / "initdb", os.X_OK) and os.access(Path(d) / "pg_ctl", os.X_OK):
            return Path(d)
    return None


def missing() -> str | None:
    """Why no PostgreSQL server can be started for the tests, or ``None`` when one can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the PostgreSQL driver is not installed (pip install -c constraints.txt -e '.[dev]')"
    if bindir() is None:
        return (
            "PostgreSQL is not installed: no initdb on PATH or under "
            f"{DEBIAN_BINDIRS} (make system-deps installs Debian's postgresql)"
        )
    return None


def _owner() -> pwd.struct_passwd | None:
    """The OS user to run the server as: ``None`` (this one) unless this one is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, but there is neither a postgres nor a nobody user to run PostgreSQL")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class Cluster:
    """A PostgreSQL cluster in a temporary folder; :meth:`start`, :meth:`database`, :meth:`stop`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root: Path | None = None
        self._owner = _owner()
        self._names = itertools.count(1)

    # ------------------------------------------------------------------------- server

    def _run(self, *args: str, root: Path | None = None) -> None:
        """Run a server program, as the cluster's owner; its output in the error if it fails."""
        root = root or self.root
        assert root is not None
        kw: dict[str, Any] = {}
        if self._owner is not None:
            kw = dict(user=self._owner.pw_uid, group=self._owner.pw_gid, extra_groups=[])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        done = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            **kw,
        )
        if done.returncode != 0:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            output = f"{done.stdout}{done.stderr}{tail}"
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{output}")

    def _remove_stale(self) -> None:
        """Stop and remove the clusters of sessions that died without stopping them."""
        for root in Path(tempfile.gettempdir()).glob("lb-pg-*"):
            try:
                pid = int((root / "owner.pid").read_text())
            except (OSError, ValueError):
                continue  # not one of ours, or just being created
            if _alive(pid):
                continue
            with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
                self._run("pg_ctl", "stop", "-D", str(root / "data"), "-m", "immediate", "-w", root=root)
            shutil.rmtree(root, ignore_errors=True)

    def start(self) -> Cluster:
        """Create the cluster and start the server; returns ``self``."""
        self._remove_stale()
        self.root = Path(tempfile.mkdtemp(prefix="lb-pg-"))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        if self._owner is not None:
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)
        data = str(self.root / "data")
        base = ["initdb", "-D", data, "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"]
        try:
            self._run(*base, "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=und")
        except RuntimeError:  # a build without ICU: libc's C.UTF-8 (byte order) is what is left
            shutil.rmtree(data, ignore_errors=True)
            self._run(*base, "--locale=C.UTF-8")
        settings = {**SETTINGS, "unix_socket_directories": f"'{self.root}'"}
        with open(Path(data) / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.writelines(f"{k} = {v}\n" for k, v in settings.items())
        self._run("pg_ctl", "start", "-D", data, "-l", str(self.root / "server.log"), "-w", "-t", "60")
        return self

    def stop(self) -> None:
        """Stop the server and remove the cluster's folder."""
        if self.root is None:
            return
        try:
            self._run("pg_ctl", "stop", "-D", str(self.root / "data"), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # ---------------------------------------------------------------------- databases

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of database ``dbname`` (psycopg 3 over the Unix socket)."""
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={self.root}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.root), dbname="postgres", user=SUPERUSER, autocommit=True) as conn:
            conn.execute(sql)

    @contextlib.contextmanager
    def database(self, prefix: str = "lb") -> Iterator[str]:
        """A new, empty database; its URL. Dropped afterwards, open connections and all."""
        name = f"{prefix}_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            yield self.url(name)
        finally:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
