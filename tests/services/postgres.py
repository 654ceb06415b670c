"""A real PostgreSQL server for tests: initdb in a temporary folder, listening on 127.0.0.1 only
(and a socket in that folder), trust authentication, stopped with ``pg_ctl stop -m fast``.

PostgreSQL refuses to run as root: under root the server runs as the ``postgres`` system user the
Debian package creates, and owns its folder. Clients (createdb, psql, DuckDB) run as we do.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "postgres"
HOST = "127.0.0.1"


class PostgresUnavailable(RuntimeError):
    pass


def bin_dir() -> Path:
    """The newest installed server's binaries (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("the PostgreSQL server binaries (initdb, pg_ctl) are not installed: run `make system-packages`")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, None when there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[1]), int(fields[19])) if fields[0] != "Z" else None


def _tree(root: int) -> dict[int, int]:
    """{pid: start time} of ``root`` and its children (the postmaster's backends and workers)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat and (int(entry.name) == root or stat[0] == root):
                found[int(entry.name)] = stat[1]
    return found


def alive(processes: dict[int, int]) -> list[int]:
    """Those of ``processes`` still running (the same process: a reused pid has another start time)."""
    return [pid for pid, start in processes.items() if (_stat(pid) or (0, None))[1] == start]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="newsingest-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.port = 0
        self.pid: int | None = None
        self.databases = 0
        # Root may not run the server: it runs as the postgres user, which must own its folders.
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise PostgresUnavailable("running as root needs the `postgres` system user: run `make system-packages`") from None

    def _as_server(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user.pw_name, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)

    def client(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """A client binary (createdb, psql, dropdb) against this server, as superuser."""
        done = subprocess.run([str(self.bin / name), "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, *args],
                              capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(f"{name} {' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def start(self) -> None:
        self.socket_dir.mkdir()
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            os.chown(self.socket_dir, self.user.pw_uid, self.user.pw_gid)
        done = self._as_server("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        for _ in range(5):  # another process may take the port between the probe and the bind
            self.port = _free_port()
            options = f"-c listen_addresses={HOST} -p {self.port} -k {self.socket_dir}"
            done = self._as_server("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options)
            if done.returncode == 0:
                self.pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
                return
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{self.log()}")

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A fresh database (named ``name``, or the next ``db<n>``); returns its libpq connection string."""
        if name is None:
            self.databases += 1
            name = f"db{self.databases}"
        self.client("createdb", name)
        return self.conninfo(name)

    def psql(self, dbname: str, sql: str) -> str:
        """One statement's rows, unaligned, without headers."""
        return self.client("psql", "-d", dbname, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql).stdout.strip()

    def processes(self) -> dict[int, int]:
        """{pid: start time} of the postmaster and its children (backends, checkpointer, ...)."""
        return _tree(self.pid) if self.pid is not None else {}

    def stop(self) -> list[int]:
        """Fast shutdown; returns the server's processes still running (none, unless it failed)."""
        processes = self.processes()
        try:
            if self.data.exists():
                done = self._as_server("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.data))
                if done.returncode != 0 and self.pid is not None:
                    raise RuntimeError(f"pg_ctl stop failed: {done.stderr.strip()}\n{self.log()}")
            deadline = time.monotonic() + 10
            while alive(processes) and time.monotonic() < deadline:
                time.sleep(0.1)
            return alive(processes)
        finally:
            if not alive(processes):
                shutil.rmtree(self.root, ignore_errors=True)
