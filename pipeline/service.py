"""The always-on Airflow service on 127.0.0.1: ``newsingest service up|down|status`` (``make up``,
``make down``, ``make status``).

Four Airflow 3 components — api-server (the UI and the REST and execution APIs), scheduler (with the
LocalExecutor, which forks the workers that run the tasks), dag-processor and triggerer — share the
SQLite metadata database in ``$AIRFLOW_HOME``. They run under supervisord (the ``supervisor``
package): it restarts a component that dies, stops each one with its whole process group, and
writes one log per component to ``$AIRFLOW_HOME/logs/service/``. Its configuration is generated here
from the project's paths, into ``$AIRFLOW_HOME/service/supervisord.conf``.

Every process of the service carries ``NEWSINGEST_SERVICE_ID=<AIRFLOW_HOME>`` in its environment. A
task runner lives in a process group of its own (Airflow's task supervisor calls ``setpgid``), and a
LocalExecutor worker outlives a scheduler killed with SIGKILL, so ``down`` does not trust process
groups alone: after supervisord has stopped, any process still carrying the mark is terminated,
then killed.

Environment (all optional): ``NEWSINGEST_HOME`` (default ./var), ``AIRFLOW_HOME`` (default
$NEWSINGEST_HOME/airflow), ``AIRFLOW__CORE__DAGS_FOLDER`` (default the repository's dags/),
``NEWSINGEST_SERVICE_PORT`` (default 8080), ``NEWSINGEST_SERVICE_USER`` (default admin),
``NEWSINGEST_SERVICE_PARALLELISM`` (task slots, default 4).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DAG_IDS = ("news_ingest", "news_fetch", "news_maintenance")
# Pools the DAGs use (name -> slots), created at `up`. The DAGs use none today (default_pool only).
POOLS: dict[str, int] = {}
# Start order; supervisord stops in the reverse order. The api-server comes first: tasks report to
# its execution API.
COMPONENTS = {
    "api-server": ["api-server", "--host", HOST, "--port", "{port}"],
    # Logs are read from $AIRFLOW_HOME/logs by the api-server on this machine: no log servers (they
    # would listen on 0.0.0.0:8793/8794, and one service per port pair only).
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
# What a task of news_ingest imports: DuckDB, the cleaners, Great Expectations (about 2 s of a
# micro-batch's run when each task imports them itself). The scheduler imports them first.
PRELOAD = ("pipeline.stages", "pipeline.workers", "pipeline.clean", "pipeline.dedup", "pipeline.inbox.queue", "pipeline.store.db", "pipeline.validate.gx_import", "pipeline.report.charts")
PRELOADED = {"scheduler"}
FIRST = "api-server"
MARK = "NEWSINGEST_SERVICE_ID"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
STOP_WAIT_SECONDS = 20  # per component, SIGTERM to SIGKILL of its process group (supervisord)
SWEEP_WAIT_SECONDS = 10  # leftovers: SIGTERM, then SIGKILL after this


class ServiceError(RuntimeError):
    """A check or a start that failed; the message says what to do."""


@dataclass
class ServiceConfig:
    newsingest_home: Path
    airflow_home: Path
    dags_folder: Path
    port: int = DEFAULT_PORT
    user: str = "admin"
    parallelism: int = 4
    bin_dir: Path = field(default_factory=lambda: Path(sys.executable).parent)

    @classmethod
    def from_env(cls, environ=None, port: int | None = None) -> ServiceConfig:
        env = os.environ if environ is None else environ
        home = Path(env.get("NEWSINGEST_HOME") or "var").absolute()
        airflow_home = Path(env.get("AIRFLOW_HOME") or home / "airflow").absolute()
        dags = Path(env.get("AIRFLOW__CORE__DAGS_FOLDER") or Path(__file__).resolve().parents[1] / "dags").absolute()
        return cls(
            newsingest_home=home, airflow_home=airflow_home, dags_folder=dags,
            port=int(port or env.get("NEWSINGEST_SERVICE_PORT") or DEFAULT_PORT),
            user=env.get("NEWSINGEST_SERVICE_USER") or "admin",
            parallelism=int(env.get("NEWSINGEST_SERVICE_PARALLELISM") or 4),
        )

    # -- paths
    @property
    def service_dir(self) -> Path:
        return self.airflow_home / "service"

    @property
    def log_dir(self) -> Path:
        return self.airflow_home / "logs" / "service"

    @property
    def conf_path(self) -> Path:
        return self.service_dir / "supervisord.conf"

    @property
    def pid_path(self) -> Path:
        return self.service_dir / "supervisord.pid"

    @property
    def state_path(self) -> Path:
        return self.service_dir / "state.json"

    @property
    def socket_path(self) -> Path:
        path = self.service_dir / "supervisor.sock"
        if len(str(path)) < 100:  # AF_UNIX paths are limited to 107 bytes
            return path
        import hashlib

        return Path("/tmp") / f"newsingest-supervisor-{hashlib.sha256(str(self.airflow_home).encode()).hexdigest()[:16]}.sock"

    @property
    def passwords_path(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    @property
    def inbox(self) -> Path:
        from pipeline.settings import load_settings

        return Path(load_settings(home=self.newsingest_home).inbox_dir)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def airflow(self) -> Path:
        return self.bin_dir / "airflow"

    def environment(self) -> dict[str, str]:
        """What every component runs with (on top of the caller's environment)."""
        return {
            MARK: str(self.airflow_home),
            "NEWSINGEST_HOME": str(self.newsingest_home),
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.user}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_path),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",  # to the component logs, not the terminal
            # A task whose worker died with a killed scheduler is retried after a minute, not five:
            # its claim of the inbox waits that long.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            # An idle scheduler looks for new runs and finished tasks twice a second, not once: a
            # micro-batch's run passes through about four such waits.
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "GX_ANALYTICS_ENABLED": "false",
        }


# ---------------------------------------------------------------- supervisord configuration


def _quote(value: str) -> str:
    return '"' + value.replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_supervisord_conf(cfg: ServiceConfig) -> str:
    env = ",".join(f"{k}={_quote(v)}" for k, v in cfg.environment().items())
    lines = [
        "; Generated by `newsingest service up` (pipeline/service.py): edits are overwritten.",
        "[unix_http_server]",
        f"file={cfg.socket_path}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={cfg.log_dir / 'supervisord.log'}",
        "logfile_maxbytes=10MB",
        "logfile_backups=3",
        "loglevel=info",
        f"pidfile={cfg.pid_path}",
        f"childlogdir={cfg.log_dir}",
        f"directory={cfg.airflow_home}",
        "nodaemon=false",
        f"environment={env}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{cfg.socket_path}",
        "",
    ]
    for priority, (name, args) in enumerate(COMPONENTS.items(), start=1):
        program = [sys.executable, "-m", "pipeline.service", "preloaded"] if name in PRELOADED else [str(cfg.airflow)]
        command = " ".join([*program, *(a.format(port=cfg.port) for a in args)])
        lines += [
            f"[program:{name}]",
            f"command={command}",
            f"priority={priority * 10}",
            # The api-server first: the others are started by `up` once it answers, as a task queued
            # before the execution API listens fails (connection refused) and waits for its retry.
            f"autostart={'true' if name == FIRST else 'false'}",
            "autorestart=true",  # a component that dies is started again
            "startsecs=5",
            "startretries=5",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS}",
            "stopasgroup=true",  # the signal goes to the component's process group (LocalExecutor workers too)
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={cfg.log_dir / (name + '.log')}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=3",
            "",
        ]
    lines += [
        "[eventlistener:reaper]",  # stops what a component that died leaves behind (see reap)
        f"command={sys.executable} -m pipeline.service reap",
        "events=PROCESS_STATE_EXITED",
        "autorestart=true",
        f"stdout_logfile={cfg.log_dir / 'reaper.log'}",  # the protocol's channel; supervisord keeps it apart
        f"stderr_logfile={cfg.log_dir / 'reaper.log'}",
        "stopasgroup=true",
        "killasgroup=true",
        "",
    ]
    return "\n".join(lines)


def reap() -> None:
    """supervisord event listener: when a component exits on its own (a crash, kill -9), its process
    group is left behind (the LocalExecutor workers of a scheduler); terminate what of it carries this
    service's mark, so that the restarted component starts clean. Task runners (own process groups)
    finish their task and are stopped by `down` at the latest."""
    import psutil
    from supervisor import childutils

    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        fields = dict(item.split(":", 1) for item in payload.split("\n", 1)[0].split())
        pid = int(fields.get("pid", 0))
        left = []
        for proc in psutil.process_iter(["pid"]):
            try:  # the dead component's group, in supervisord's session (which is this listener's)
                if pid and os.getpgid(proc.pid) == pid and os.getsid(proc.pid) == os.getsid(0):
                    left.append(proc)
            except (OSError, psutil.Error):
                continue
        if left:
            print(f"{fields.get('processname')} (pid {pid}) exited; stopping its group: {[p.pid for p in left]}", file=sys.stderr, flush=True)
            _terminate(left, 5)
        childutils.listener.ok(sys.stdout)


# ---------------------------------------------------------------- supervisord control


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: Path, timeout: float):
        super().__init__()
        self.path, self.timeout = str(path), timeout

    def make_connection(self, host):
        import http.client

        transport = self

        class Connection(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(transport.timeout)
                self.sock.connect(transport.path)

        return Connection("localhost")


def rpc(cfg: ServiceConfig, timeout: float = 60.0):
    """supervisord's XML-RPC interface (``.supervisor.getAllProcessInfo()`` etc.) over its socket."""
    return xmlrpc.client.ServerProxy("http://localhost", transport=_UnixTransport(cfg.socket_path, timeout)).supervisor


def supervisord_pid(cfg: ServiceConfig) -> int | None:
    """The pid of this home's supervisord when it runs and answers, else None."""
    pid = _pidfile(cfg)
    if not pid or not _alive(pid):
        return None
    try:
        return int(rpc(cfg, timeout=5).getPID())
    except (OSError, xmlrpc.client.Error):
        return None


def _pidfile(cfg: ServiceConfig) -> int | None:
    try:
        return int(cfg.pid_path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def component_info(cfg: ServiceConfig) -> dict[str, dict]:
    """name -> supervisord's process info (statename, pid, ...)."""
    return {p["name"]: p for p in rpc(cfg).getAllProcessInfo()}


def service_processes(cfg: ServiceConfig) -> list:
    """Every live process of this service: supervisord and its session (supervisord calls setsid;
    the components, LocalExecutor workers and task runners stay in that session even in process
    groups of their own, and even orphaned), and anything else carrying the service's mark in its
    environment (which setproctitle may blank out, hence the session)."""
    import psutil

    state = _read_state(cfg)
    sid, since = state.get("supervisord_pid"), state.get("supervisord_started", 0.0)
    found = []
    for proc in psutil.process_iter(["pid", "create_time", "status"]):
        try:
            if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if sid and os.getsid(proc.pid) == sid and proc.info["create_time"] >= since - 1 or proc.environ().get(MARK) == str(cfg.airflow_home):
                found.append(proc)
        except (OSError, psutil.Error):
            continue
    return found


# ---------------------------------------------------------------- API


def _http():
    import requests

    session = requests.Session()
    session.trust_env = False  # 127.0.0.1 only: no proxy from the environment
    return session


def password(cfg: ServiceConfig) -> str | None:
    try:
        return json.loads(cfg.passwords_path.read_text()).get(cfg.user)
    except (OSError, ValueError):
        return None


def token(cfg: ServiceConfig) -> str:
    response = _http().post(f"{cfg.url}/auth/token", json={"username": cfg.user, "password": password(cfg)}, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def health(cfg: ServiceConfig) -> dict | None:
    try:
        response = _http().get(f"{cfg.url}/api/v2/monitor/health", timeout=10)
        return response.json() if response.ok else None
    except Exception:
        return None


def _all_healthy(report: dict | None) -> bool:
    if not report:
        return False
    return all((report.get(part) or {}).get("status") == "healthy" for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))


def dag_status(cfg: ServiceConfig, jwt: str) -> tuple[dict[str, dict], list[dict]]:
    """The service's view of our DAGs (dag_id -> DAG) and every import error."""
    http, headers = _http(), {"Authorization": f"Bearer {jwt}"}
    dags = http.get(f"{cfg.url}/api/v2/dags", params={"limit": 100}, headers=headers, timeout=30)
    dags.raise_for_status()
    errors = http.get(f"{cfg.url}/api/v2/importErrors", params={"limit": 100}, headers=headers, timeout=30)
    errors.raise_for_status()
    return {d["dag_id"]: d for d in dags.json()["dags"]}, errors.json()["import_errors"]


# ---------------------------------------------------------------- up


def _port_holder(port: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
            return None
        except OSError:
            pass
    try:
        import psutil

        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({' '.join(proc.cmdline())[:120]})"
    except Exception:
        pass
    return "another process"


def check_deployment(cfg: ServiceConfig) -> None:
    """What the service needs before it starts; each failure says what to do."""
    problems = []
    if not cfg.airflow.exists():
        problems.append(f"no Airflow at {cfg.airflow}: run `make setup` (installs requirements.lock into .venv)")
    problems += [
        f"no {dag_id}.py in the DAGs folder {cfg.dags_folder}: set AIRFLOW__CORE__DAGS_FOLDER to the repository's dags/"
        for dag_id in DAG_IDS if not (cfg.dags_folder / f"{dag_id}.py").is_file()
    ]
    if not 0 < cfg.port < 65536:
        problems.append(f"port {cfg.port} is not a TCP port: set NEWSINGEST_SERVICE_PORT")
    else:
        holder = _port_holder(cfg.port)
        if holder:
            problems.append(f"{HOST}:{cfg.port} is in use by {holder}: stop it, or choose another port (NEWSINGEST_SERVICE_PORT=8081 make up)")
    for folder in (cfg.newsingest_home, cfg.airflow_home, cfg.inbox, cfg.service_dir, cfg.log_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            problems.append(f"cannot write to {folder} ({exc.strerror}): fix its permissions or set NEWSINGEST_HOME / AIRFLOW_HOME")
    if problems:
        raise ServiceError("the service cannot start:\n  - " + "\n  - ".join(problems))


def _airflow_version(cfg: ServiceConfig) -> str:
    from importlib.metadata import version

    return version("apache-airflow-core")


def migrate_if_needed(cfg: ServiceConfig, env: dict, say) -> bool:
    """``airflow db migrate`` unless this home was migrated by this Airflow version (and its
    airflow.cfg, which holds the secrets every component must share, exists)."""
    stamp = cfg.service_dir / "migrated"
    conn = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    wanted = f"{_airflow_version(cfg)} {conn}"
    sqlite_missing = not conn and not (cfg.airflow_home / "airflow.db").exists()
    if stamp.exists() and stamp.read_text() == wanted and (cfg.airflow_home / "airflow.cfg").exists() and not sqlite_missing:
        return False
    say("migrating the Airflow metadata database (airflow db migrate) ...")
    log = cfg.log_dir / "db-migrate.log"
    with open(log, "w") as out:
        result = subprocess.run([str(cfg.airflow), "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=900)
    if result.returncode != 0:
        raise ServiceError(f"airflow db migrate failed (exit {result.returncode}); its log: {log}\n{_tail(log, 30)}")
    stamp.write_text(wanted)
    return True


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def start_components(cfg: ServiceConfig, timeout: float, say=print) -> None:
    """Once the api-server answers, start the components that are not running (all but the
    api-server on a fresh start)."""
    deadline = time.monotonic() + timeout
    while health(cfg) is None:
        state = component_info(cfg)[FIRST]["statename"]
        if state == "FATAL" or time.monotonic() > deadline:
            raise ServiceError(_failure(cfg, f"the api-server does not answer on {cfg.url} ({state})", [FIRST]))
        time.sleep(0.5)
    control = rpc(cfg)
    for name, info in component_info(cfg).items():
        if name in COMPONENTS and info["statename"] in ("STOPPED", "EXITED", "FATAL"):
            control.startProcess(name, False)


def wait_ready(cfg: ServiceConfig, timeout: float, say=print) -> str:
    """Until the API answers health with every component healthy, both DAGs are parsed and no
    import error is recorded; unpauses the DAGs and creates the pools. Returns a JWT."""
    deadline = time.monotonic() + timeout
    phase, last = "health", ""
    while True:
        try:
            info = component_info(cfg)
            dead = [n for n, p in info.items() if p["statename"] in ("FATAL", "EXITED", "BACKOFF")]
            if dead and phase == "health" and any(info[n]["statename"] == "FATAL" for n in dead):
                raise ServiceError(_failure(cfg, f"component(s) {', '.join(dead)} could not start", dead))
            if phase == "health":
                report = health(cfg)
                if _all_healthy(report):
                    phase = "dags"
                    say(f"API server healthy at {cfg.url}; waiting for the DAGs to be parsed ...")
                else:
                    last = f"health: {json.dumps(report)[:300] if report else 'no answer'}"
            if phase == "dags":
                jwt = token(cfg)
                dags, errors = dag_status(cfg, jwt)
                if errors:
                    text = "\n".join(f"  {e.get('filename')}: {(e.get('stack_trace') or '').strip()[-800:]}" for e in errors)
                    raise ServiceError(f"DAG import errors (fix the DAG files in {cfg.dags_folder}):\n{text}")
                missing = [d for d in DAG_IDS if d not in dags]
                if not missing:
                    _unpause_and_pools(cfg, jwt, dags)
                    return jwt
                last = f"DAGs not parsed yet: {', '.join(missing)}"
        except ServiceError:
            raise
        except Exception as exc:  # still starting
            last = f"{type(exc).__name__}: {str(exc)[:200]}"
        if time.monotonic() > deadline:
            raise ServiceError(_failure(cfg, f"not ready after {timeout:.0f} s ({last})", list(COMPONENTS)))
        time.sleep(1.0)


def _unpause_and_pools(cfg: ServiceConfig, jwt: str, dags: dict) -> None:
    http, headers = _http(), {"Authorization": f"Bearer {jwt}"}
    for dag_id in DAG_IDS:
        if dags[dag_id].get("is_paused"):
            http.patch(f"{cfg.url}/api/v2/dags/{dag_id}", json={"is_paused": False}, headers=headers, timeout=30).raise_for_status()
    for name, slots in POOLS.items():
        got = http.get(f"{cfg.url}/api/v2/pools/{name}", headers=headers, timeout=30)
        if got.status_code == 404:
            http.post(f"{cfg.url}/api/v2/pools", json={"name": name, "slots": slots}, headers=headers, timeout=30).raise_for_status()
        elif got.ok and got.json()["slots"] < slots:
            raise ServiceError(f"pool {name} has {got.json()['slots']} slots, the DAGs need {slots}: raise it in the UI (Admin > Pools)")


def _failure(cfg: ServiceConfig, what: str, names: list[str]) -> str:
    parts = [f"the service did not come up: {what}"]
    parts += [f"--- last lines of {cfg.log_dir / (name + '.log')}:\n{_tail(cfg.log_dir / (name + '.log'), 15)}" for name in names]
    parts.append("Stopped it again. Logs: " + str(cfg.log_dir))
    return "\n".join(parts)


def up(cfg: ServiceConfig, timeout: float = 300.0, say=print) -> int:
    started = time.monotonic()
    if supervisord_pid(cfg):
        state = _read_state(cfg)
        if state.get("port") and state["port"] != cfg.port:
            say(f"The service of {cfg.airflow_home} already runs on port {state['port']} (asked: {cfg.port}); `make down` first to move it.")
            cfg.port = state["port"]
        say(f"The service is already running (supervisord pid {supervisord_pid(cfg)}); checking it ...")
        start_components(cfg, timeout, say)
        wait_ready(cfg, timeout, say)
        _print_access(cfg, say)
        return 0
    _cleanup_stale(cfg)
    check_deployment(cfg)
    env = {**os.environ, **cfg.environment()}
    env.pop(MARK)  # the migration is no process of the service
    migrate_if_needed(cfg, env, say)
    cfg.conf_path.write_text(render_supervisord_conf(cfg))
    supervisord = cfg.bin_dir / "supervisord"
    launch_env = {**os.environ, **cfg.environment()}
    result = subprocess.run([str(supervisord), "-c", str(cfg.conf_path)], env=launch_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    if result.returncode != 0:
        raise ServiceError(f"supervisord did not start (exit {result.returncode}): {result.stdout.strip()}\nits log: {cfg.log_dir / 'supervisord.log'}")
    say(f"Starting Airflow on {cfg.url} (supervisord, config {cfg.conf_path}) ...")
    try:
        pid = None
        for _ in range(300):
            pid = supervisord_pid(cfg)
            if pid:
                break
            time.sleep(0.1)
        _write_state(cfg, pid or _pidfile(cfg))
        if not pid:
            raise ServiceError(f"supervisord does not answer on {cfg.socket_path}; its log: {cfg.log_dir / 'supervisord.log'}")
        start_components(cfg, timeout, say)
        wait_ready(cfg, timeout, say)
    except BaseException:
        down(cfg, say=lambda *_: None)
        raise
    say(f"Ready in {time.monotonic() - started:.0f} s.")
    _print_access(cfg, say)
    return 0


def _print_access(cfg: ServiceConfig, say) -> None:
    say(f"  UI:       {cfg.url}/")
    say(f"  login:    {cfg.user} / {password(cfg)}   (from {cfg.passwords_path})")
    say(f"  DAGs:     {', '.join(DAG_IDS)} (unpaused); drop files into {cfg.inbox}")
    say(f"  logs:     {cfg.log_dir}/{{api-server,scheduler,dag-processor,triggerer,supervisord}}.log")
    say("  stop:     make down        status: make status")


def _read_state(cfg: ServiceConfig) -> dict:
    try:
        return json.loads(cfg.state_path.read_text())
    except (OSError, ValueError):
        return {}


def _write_state(cfg: ServiceConfig, pid: int | None) -> None:
    import psutil

    started = psutil.Process(pid).create_time() if pid else 0.0
    cfg.state_path.write_text(json.dumps({"port": cfg.port, "url": cfg.url, "user": cfg.user, "supervisord_pid": pid, "supervisord_started": started}))


def _cleanup_stale(cfg: ServiceConfig) -> None:
    """A supervisord that died (kill -9, a reboot) leaves its pidfile, its socket and possibly
    components: stop those before starting anew."""
    leftovers = service_processes(cfg)
    if leftovers:
        _terminate(leftovers, SWEEP_WAIT_SECONDS)
    for path in (cfg.pid_path, cfg.socket_path):
        with_suppress_unlink(path)


def with_suppress_unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# ---------------------------------------------------------------- down / status


def _terminate(procs: list, wait: float) -> list[str]:
    """SIGTERM, wait, SIGKILL. Returns a line for each process."""
    import psutil

    lines = []
    for proc in procs:
        try:
            lines.append(f"pid {proc.pid} {' '.join(proc.cmdline()).strip()[:100]}")
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=wait)
    for proc in alive:
        try:
            proc.kill()
            lines.append(f"pid {proc.pid}: SIGKILL after {wait:.0f} s")
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    return lines


def down(cfg: ServiceConfig, say=print) -> int:
    import psutil

    pid = supervisord_pid(cfg)
    stopped = []
    if pid:
        try:
            info = component_info(cfg)
            running = [f"{n} (pid {p['pid']})" for n, p in info.items() if p["pid"]]
            say(f"Stopping {', '.join(running) or 'supervisord'} ...")
            rpc(cfg, timeout=len(COMPONENTS) * (STOP_WAIT_SECONDS + 10)).stopAllProcesses(True)
            stopped += running
            rpc(cfg).shutdown()
        except (OSError, xmlrpc.client.Error) as exc:
            say(f"supervisord did not answer ({exc}); terminating it")
        try:
            proc = psutil.Process(pid)
            gone, alive = psutil.wait_procs([proc], timeout=30)
            if alive:
                proc.kill()
                say(f"supervisord (pid {pid}) killed after 30 s")
            stopped.append(f"supervisord (pid {pid})")
        except psutil.Error:
            stopped.append(f"supervisord (pid {pid})")
    leftovers = service_processes(cfg)
    if leftovers:
        lines = _terminate(leftovers, SWEEP_WAIT_SECONDS)
        stopped += [f"left over: {line}" for line in lines]
    for path in (cfg.pid_path, cfg.socket_path):
        with_suppress_unlink(path)
    remaining = service_processes(cfg)
    if not stopped:
        say(f"The service of {cfg.airflow_home} is not running.")
    else:
        say("Stopped:\n  " + "\n  ".join(stopped))
    if remaining:
        say("Still running (could not be stopped): " + ", ".join(str(p.pid) for p in remaining))
        return 1
    return 0


def status(cfg: ServiceConfig, say=print) -> int:
    """0 running and healthy, 1 running but not healthy, 3 not running."""
    pid = supervisord_pid(cfg)
    if not pid:
        leftovers = service_processes(cfg)
        say(f"not running ({cfg.airflow_home})" + (f"; {len(leftovers)} stray process(es): make down" if leftovers else ""))
        return 3
    cfg.port = _read_state(cfg).get("port", cfg.port)
    say(f"supervisord pid {pid}, {cfg.url}/")
    for name, p in component_info(cfg).items():
        say(f"  {name:14} {p['statename']:9} {p['description']}")
    report = health(cfg)
    say("  health: " + (", ".join(f"{k}={(v or {}).get('status')}" for k, v in report.items()) if report else "no answer"))
    say(f"  logs: {cfg.log_dir}")
    return 0 if _all_healthy(report) else 1


# ---------------------------------------------------------------- CLI


def add_parser(sub) -> None:
    service = sub.add_parser("service", help="the Airflow service on 127.0.0.1 (scheduler, dag-processor, triggerer, api-server)")
    service.add_argument("action", choices=["up", "down", "status"])
    service.add_argument("--port", type=int, help=f"API/UI port (default: NEWSINGEST_SERVICE_PORT or {DEFAULT_PORT})")
    service.add_argument("--timeout", type=float, default=300.0, help="seconds `up` waits for the service to be ready")
    service.set_defaults(func=cmd_service)


def cmd_service(args) -> int:
    cfg = ServiceConfig.from_env(port=args.port)
    try:
        if args.action == "up":
            return up(cfg, timeout=args.timeout)
        if args.action == "down":
            return down(cfg)
        return status(cfg)
    except ServiceError as exc:
        print(f"newsingest service {args.action}: {exc}", file=sys.stderr)
        return 3


def preloaded(argv: list[str]) -> None:
    """``airflow <argv>`` in a process that imported the pipeline first: the LocalExecutor forks its
    workers from the scheduler and each task from a worker, so tasks start with the imports done
    (the preload of gunicorn or Celery's prefork pool). Imports only: no thread, no connection."""
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    from airflow.__main__ import main

    sys.argv = ["airflow", *argv]
    main()


if __name__ == "__main__" and sys.argv[1:] == ["reap"]:
    reap()
elif __name__ == "__main__" and sys.argv[1:2] == ["preloaded"]:
    preloaded(sys.argv[2:])
