"""A real newsingest service (Airflow 3 under supervisord, on 127.0.0.1) for end-to-end tests.

It is started exactly as ``make up`` starts it — the ``newsingest service up`` command — on a free
port, in a temporary ``NEWSINGEST_HOME`` (``AIRFLOW_HOME`` inside it), and stopped with
``newsingest service down``. Teardown then asserts that no process of the service is left (its
session, see ``pipeline.service.service_processes``); any that is, is killed first, so a failing
test leaves nothing behind.

Use the fixture (module-scoped: one service per test module, ~30-40 s to start)::

    from tests.e2e.service import service  # noqa: F401  (or rely on tests/e2e/conftest.py)

    def test_something(service):
        run_id = service.trigger("news_ingest", {"input": str(folder)})
        assert service.wait_for_run("news_ingest", run_id) == "success"
        rows = query(service.settings.db_path, "SELECT count(*) FROM articles")

or ``with start_service(tmp_path) as service: ...`` for another scope. ``RunningService`` has:

- ``url``, ``user``, ``password``, ``port``, ``newsingest_home``, ``airflow_home``, ``inbox``,
  ``settings`` (the pipeline settings the DAG tasks see), ``log_dir``, ``env``;
- ``api(method, path, **requests_kwargs)``: a call to ``/api/v2/<path>`` with a JWT from
  ``/auth/token`` (renewed on 401);
- ``trigger(dag_id, conf)`` -> run id; ``wait_for_run(dag_id, run_id, timeout)`` -> the final state
  (fails the test, with the task states and log tails, unless ``success``, or returns any final state
  with ``expect=None``); ``runs(dag_id)``;
- ``component_pid(name)``, ``kill_component(name, sig=SIGKILL)`` -> the old pid,
  ``wait_component(name, old_pid)`` -> the new pid once supervisord restarted it,
  ``restart_component(name)``; names: api-server, scheduler, dag-processor, triggerer;
- ``cli(action)`` (``up``/``down``/``status``: the CompletedProcess), ``processes()``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import requests

from pipeline.service import ServiceConfig, component_info, rpc, service_processes
from pipeline.settings import Settings, load_settings
from tests.conftest import REPO

NEWSINGEST = str(Path(sys.executable).with_name("newsingest"))
FINAL_STATES = {"success", "failed"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningService:
    config: ServiceConfig
    env: dict
    password: str
    _token: str | None = field(default=None, repr=False)

    # -- where things are
    @property
    def url(self) -> str:
        return self.config.url

    @property
    def port(self) -> int:
        return self.config.port

    @property
    def user(self) -> str:
        return self.config.user

    @property
    def newsingest_home(self) -> Path:
        return self.config.newsingest_home

    @property
    def airflow_home(self) -> Path:
        return self.config.airflow_home

    @property
    def inbox(self) -> Path:
        return self.config.inbox

    @property
    def log_dir(self) -> Path:
        return self.config.log_dir

    @property
    def settings(self) -> Settings:
        return load_settings(environ={"NEWSINGEST_HOME": str(self.newsingest_home)})

    # -- the command line, as `make up|down|status` runs it
    def cli(self, action: str, timeout: float = 400) -> subprocess.CompletedProcess:
        return subprocess.run([NEWSINGEST, "service", action], env=self.env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def processes(self) -> list[psutil.Process]:
        return service_processes(self.config)

    # -- REST API
    def token(self) -> str:
        if not self._token:
            response = self._http().post(f"{self.url}/auth/token", json={"username": self.user, "password": self.password}, timeout=30)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    @staticmethod
    def _http() -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # never a proxy: 127.0.0.1 only
        return session

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        for _ in range(2):
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.token()}"}
            response = self._http().request(method, f"{self.url}/api/v2/{path.lstrip('/')}", headers=headers, **kwargs)
            if response.status_code != 401:
                return response
            self._token = None
        return response

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        response = self.api("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        assert response.status_code == 200, response.text
        return response.json()["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        response = self.api("GET", f"dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "-run_after"})
        response.raise_for_status()
        return response.json()["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300, expect: str | None = "success") -> str:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            response = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")
            if response.ok:
                state = response.json()["state"]
                if state in FINAL_STATES:
                    break
            time.sleep(1)
        if expect is not None and state != expect:
            pytest.fail(f"{dag_id} run {run_id}: {state} (expected {expect}, waited up to {timeout:.0f} s)\n{self.describe_run(dag_id, run_id)}")
        return state

    def describe_run(self, dag_id: str, run_id: str) -> str:
        lines = []
        response = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        if response.ok:
            lines += [f"  {ti['task_id']}[{ti.get('map_index', -1)}]: {ti['state']} (try {ti.get('try_number')})" for ti in response.json()["task_instances"]]
        logs = sorted((self.airflow_home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/task_id=*/**/*.log"))
        lines += [f"--- {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]) for log in logs if "error" in log.read_text(errors="replace").lower()]
        for name in ("scheduler", "api-server"):
            path = self.log_dir / f"{name}.log"
            if path.exists():
                lines.append(f"--- {path} (tail):\n" + "\n".join(path.read_text(errors="replace").splitlines()[-10:]))
        return "\n".join(lines)

    # -- components (supervisord programs)
    def component_pid(self, name: str) -> int:
        return int(component_info(self.config)[name]["pid"])

    def kill_component(self, name: str, sig: int = signal.SIGKILL) -> int:
        pid = self.component_pid(name)
        assert pid, f"{name} is not running"
        os.kill(pid, sig)
        return pid

    def wait_component(self, name: str, old_pid: int | None = None, timeout: float = 120) -> int:
        """The pid of ``name`` once supervisord reports it RUNNING (with a pid other than ``old_pid``)."""
        deadline = time.monotonic() + timeout
        info = {}
        while time.monotonic() < deadline:
            info = component_info(self.config)[name]
            if info["statename"] == "RUNNING" and info["pid"] and info["pid"] != old_pid:
                return int(info["pid"])
            time.sleep(0.5)
        pytest.fail(f"{name} not running again after {timeout:.0f} s: {info}")

    def restart_component(self, name: str) -> int:
        old = self.component_pid(name)
        control = rpc(self.config)
        control.stopProcess(name, True)
        control.startProcess(name, True)
        return self.wait_component(name, old)


def _kill_leftovers(procs: list[psutil.Process]) -> None:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


@contextmanager
def start_service(base: Path, port: int | None = None, timeout: float = 300):
    """The service in ``base`` (NEWSINGEST_HOME = base/var), started with ``newsingest service up``;
    stopped on exit with ``newsingest service down``, asserting that no process of it is left."""
    home = Path(base) / "var"
    env = {
        **os.environ,
        "NEWSINGEST_HOME": str(home),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "NEWSINGEST_SERVICE_PORT": str(port or free_port()),
    }
    env.pop("NEWSINGEST_CONFIG", None)
    config = ServiceConfig.from_env(env)
    started = None
    try:
        t0 = time.monotonic()
        started = subprocess.run([NEWSINGEST, "service", "up", "--timeout", str(timeout)], env=env, capture_output=True, text=True,
                                 timeout=timeout + 120, stdin=subprocess.DEVNULL)
        assert started.returncode == 0, f"newsingest service up: exit {started.returncode}\n{started.stdout}\n{started.stderr}"
        print(f"service up in {time.monotonic() - t0:.1f} s at {config.url} (logs: {config.log_dir})")
        password = json.loads(config.passwords_path.read_text())[config.user]
        yield RunningService(config=config, env=env, password=password)
    finally:
        stopped = subprocess.run([NEWSINGEST, "service", "down"], env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        left = service_processes(config)
        _kill_leftovers(left)
        assert stopped.returncode == 0, f"newsingest service down: exit {stopped.returncode}\n{stopped.stdout}\n{stopped.stderr}"
        assert not left, f"processes of the service left after down: {[p.pid for p in left]}"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A running service for the test module (see the module docstring)."""
    with start_service(tmp_path_factory.mktemp("service")) as running:
        yield running
