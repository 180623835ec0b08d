"""The panel as production runs it, on this machine: gunicorn web workers and separate huey worker processes sharing
one database and one Redis, with the local org mounted in the web server.

Everything a run touches is its own: a temporary folder (SQLite files, logs), a Redis database number that was
empty (flushed again at the end) and, when PostgreSQL is used, a database created for the run and dropped after.
Nothing lands in the project's instance folder, so a developer's `make run` is left alone.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests

from bench.client import Endpoints, LocalOrg

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REDIS_URL = os.environ.get("PANEL_TEST_REDIS_URL", "redis://127.0.0.1:6379")
POSTGRES_URL = os.environ.get("PANEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class Unavailable(RuntimeError):
    """A server the run needs (Redis, PostgreSQL) is not reachable; the message says which and how to start it."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- Redis and PostgreSQL, one private slice per run ---------------------------------------------------------------

def private_redis(base_url: str = REDIS_URL) -> str:
    """The URL of an empty Redis database number (1-15) on the server; Unavailable when Redis does not answer."""
    import redis

    try:
        server = redis.Redis.from_url(f"{base_url}/0", socket_connect_timeout=1)
        server.ping()
    except redis.RedisError as error:
        raise Unavailable(f"Redis is not reachable at {base_url} ({error}); start it with "
                          f"`redis-server --daemonize yes --port 6379`") from None
    candidates = list(range(1, 16))
    secrets.SystemRandom().shuffle(candidates)
    for number in candidates:
        client = redis.Redis.from_url(f"{base_url}/{number}")
        # Claim it: a marker key set only if the database is empty (a concurrent run then sees it in use).
        if client.dbsize() == 0 and client.set("panel:run-claim", str(os.getpid()), nx=True, ex=3600):
            if client.dbsize() == 1:
                return f"{base_url}/{number}"
            client.delete("panel:run-claim")
    raise Unavailable(f"every Redis database number on {base_url} is in use")


def release_redis(url: str, *, keep_claim: bool = False) -> None:
    """Empty the run's Redis database; `keep_claim` keeps it reserved for the rest of the run."""
    import redis

    try:
        client = redis.Redis.from_url(url)
        client.flushdb()
        if keep_claim:
            client.set("panel:run-claim", str(os.getpid()), ex=3600)
    except redis.RedisError:
        pass


def private_postgres(base_url: str = POSTGRES_URL) -> str:
    """A new, empty PostgreSQL database for this run (its URL); Unavailable when the server does not answer."""
    import psycopg

    name = f"panel_run_{secrets.token_hex(5)}"
    try:
        with psycopg.connect(base_url, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        raise Unavailable(f"PostgreSQL is not reachable at {base_url} ({str(error).strip()}); start it with "
                          f"`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`") from None
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def drop_postgres(url: str, base_url: str = POSTGRES_URL) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    try:
        with psycopg.connect(base_url, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass


# -- the processes --------------------------------------------------------------------------------------------------

@dataclass
class Stack:
    """gunicorn (panel + local org) and huey workers; `start()`, then `stop()` (also on any error)."""

    latency_ms: int = 100
    web_workers: int = 2
    job_processes: int = 1
    job_threads: int = 4
    postgres: bool = False
    extra_env: dict = field(default_factory=dict)
    lease_ttl_s: float | None = None

    def __post_init__(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="panel-bench-")
        self.port = free_port()
        self.endpoints = Endpoints(panel=f"http://127.0.0.1:{self.port}",
                                   localorg=f"http://127.0.0.1:{self.port}/localorg")
        self.redis_url: str | None = None
        self.database_url: str | None = None
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen | None] = []
        self._logs: list = []

    @property
    def org(self) -> LocalOrg:
        return LocalOrg(self.endpoints.localorg)

    def env(self) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PANEL_", "SALESFORCE_")) and key not in ("DATABASE_URL", "REDIS_URL")}
        env.update({
            "HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": str(self.web_workers),
            "SECRET_KEY": "bench-" + secrets.token_hex(16), "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "PANEL_LOCALORG_DATABASE": os.path.join(self.workdir, "localorg.sqlite3"),
            "PANEL_LOCALORG_LATENCY_MS": str(self.latency_ms), "PANEL_LOCALORG_SEARCH_LAG_S": "0",
            # No recycling of web workers mid-run (production recycles them every 20,000 requests): a full run sends
            # more than that, and a restarted worker would be measured cold and lose its CPU count.
            "PANEL_WEB_MAX_REQUESTS": "0",
            "PYTHONPATH": PROJECT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        })
        env.update({key: str(value) for key, value in self.extra_env.items()})
        return env

    def start(self) -> "Stack":
        try:
            self.redis_url = private_redis()
            self.database_url = private_postgres() if self.postgres else \
                f"sqlite:///{os.path.join(self.workdir, 'panel.sqlite3')}"
            self._env = self.env()
            self._upgrade_schema()
            self.web = self._spawn("web", [sys.executable, "-m", "gunicorn", "-c",
                                           os.path.join(PROJECT_ROOT, "panel", "gunicorn_conf.py"),
                                           "--no-control-socket", "panel.serve:wsgi_app()"])
            self._wait_healthy()
            for _ in range(self.job_processes):
                self.start_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def _upgrade_schema(self) -> None:
        """The deployment recipe's first step (docs/operations.md): `flask --app app db upgrade`, once, before the
        web server and the workers start, as a deployment does."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=PROJECT_ROOT,
                              env=self._env, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"`flask --app app db upgrade` failed ({done.returncode}):\n{done.stderr[-4000:]}")

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(os.path.join(self.workdir, f"{name}-{len(self._logs)}.log"), "ab")
        self._logs.append(log)
        return subprocess.Popen(argv, cwd=PROJECT_ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def _wait_healthy(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.web.returncode}:\n{self.logs('web')}")
            try:
                if requests.get(f"{self.endpoints.panel}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the panel did not become healthy in {timeout_s:.0f} s:\n{self.logs('web')}")

    def start_worker(self, index: int | None = None) -> int:
        argv = [sys.executable, "-m", "bench.worker", "--localorg-url", self.endpoints.localorg,
                "--workers", str(self.job_threads)]
        if self.lease_ttl_s is not None:
            argv += ["--lease-ttl", str(self.lease_ttl_s)]
        process = self._spawn("worker", argv)
        if index is None:
            self.workers.append(process)
            return len(self.workers) - 1
        self.workers[index] = process
        return index

    def pause_workers(self, paused: bool) -> None:
        """SIGSTOP / SIGCONT every job worker: the web tier measured alone, as with workers on other machines."""
        for process in self.workers:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGSTOP if paused else signal.SIGCONT)

    def kill_worker(self, index: int = 0) -> None:
        """SIGKILL: the worker dies mid-job, as on an OOM kill or a lost machine (no graceful shutdown)."""
        process = self.workers[index]
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        self.workers[index] = None

    def web_worker_pids(self) -> list[int]:
        if self.web is None:
            return []
        try:
            with open(f"/proc/{self.web.pid}/task/{self.web.pid}/children") as handle:
                return [int(pid) for pid in handle.read().split()]
        except OSError:
            return []

    def logs(self, prefix: str) -> str:
        texts = []
        for name in sorted(os.listdir(self.workdir)):
            if name.startswith(prefix) and name.endswith(".log"):
                with open(os.path.join(self.workdir, name), errors="replace") as handle:
                    texts.append(handle.read()[-4000:])
        return "\n".join(texts)

    def stop(self) -> None:
        for process in [*self.workers, self.web]:
            if process is not None and process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.workers, self.web = [], None
        for log in self._logs:
            log.close()
        if self.redis_url:
            release_redis(self.redis_url)
            self.redis_url = None
        if self.database_url and self.database_url.startswith("postgresql"):
            drop_postgres(self.database_url)
        self.database_url = None
        if not os.environ.get("PANEL_BENCH_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Ledger:
    """The panel's call ledger read straight from its database: watching calls costs no API request."""

    def __init__(self, database_url: str) -> None:
        from sqlalchemy import create_engine

        from panel.config import database_uri

        self.engine = create_engine(database_uri(database_url, ""))

    def statuses(self) -> dict[str, tuple[str, str | None]]:
        """call_id → (status, task_id)."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return {row[0]: (row[1], row[2])
                    for row in conn.execute(text("SELECT call_id, status, task_id FROM calls"))}

    def status(self, call_id: str) -> str | None:
        return self._one("SELECT status FROM calls WHERE call_id = :c", call_id)

    def settled(self, call_id: str) -> bool:
        """Every event stored for the call has been folded in by a job, and no job holds the call."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            waiting = conn.execute(text("SELECT COUNT(*) FROM call_events WHERE call_id = :c AND NOT processed"),
                                   {"c": call_id}).scalar()
            held = conn.execute(text("SELECT lease_owner FROM calls WHERE call_id = :c"), {"c": call_id}).scalar()
        return not waiting and held is None

    def unprocessed_events(self) -> int:
        """Stored events no job has folded in yet (the job worker's backlog)."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM call_events WHERE NOT processed")).scalar()

    def warmed(self, call_id: str) -> bool:
        return bool(self._one("SELECT warmed FROM calls WHERE call_id = :c", call_id))

    def _one(self, sql: str, call_id: str):
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text(sql), {"c": call_id}).scalar()

    def close(self) -> None:
        self.engine.dispose()
