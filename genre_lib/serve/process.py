"""The prediction service as a child process: started on a free port of 127.0.0.1, waited
for until ``/health`` answers, and stopped for sure (also when the caller fails).

    with Service(model="cnn2d") as service:
        httpx.post(service.url + "/predict", files={"file": open("song.wav", "rb")})

Notebooks, tests and ``benchmarks/serve.py`` use it; a person starts the same service with
``python -m genre_lib serve``.

Notebook: 12_serving.ipynb.
"""
from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (the system's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServiceError(RuntimeError):
    """The service did not come up (the message holds the end of its log)."""


class Service:
    """``python -m genre_lib serve`` in a child process (see the module's docstring).

    ``env`` adds to (or, with a value of None, removes from) this process's environment;
    the service's output goes to ``log`` (a file in a private temporary folder by default).

    Notebook: 12_serving.ipynb.
    """

    def __init__(self, model: str | None = None, host: str = "127.0.0.1", port: int | None = None,
                 window: float | None = None, env: dict | None = None, log=None,
                 start_timeout: float = 180.0):
        self.model, self.host, self.window = model, host, window
        self.port = port
        self.env = env or {}
        self.log = Path(log) if log else Path(tempfile.mkdtemp(prefix="genre_service_")) / "service.log"
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "genre_lib", "serve", "--host", self.host, "--port", str(self.port)]
        if self.model:
            cmd += ["--model", self.model]
        if self.window:
            cmd += ["--window", str(self.window)]
        return cmd

    def start(self, attempts: int = 3) -> Service:
        """Start the service and wait until it answers ``/health`` (a port taken meanwhile
        is retried with another)."""
        fixed = self.port is not None
        for attempt in range(attempts):
            if not fixed:
                self.port = free_port(self.host)
            try:
                self._spawn_and_wait()
                return self
            except ServiceError as exc:
                self.stop()
                if fixed or "address already in use" not in str(exc).lower() or attempt + 1 == attempts:
                    raise
        return self

    def _spawn_and_wait(self) -> None:
        from ..extras import require

        require("serve", "the prediction service")
        import httpx

        env = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(f"the service exited with status {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise ServiceError(f"the service did not answer within {self.start_timeout:.0f} s:\n"
                           f"{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """Stop the service (SIGTERM, then SIGKILL after ``timeout``); its exit status."""
        process, self.process = self.process, None
        if process is None:
            return None
        atexit.unregister(self.stop)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def __enter__(self) -> Service:
        return self.start() if not self.running() else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running() else "stopped"
        return f"Service({self.model or 'best model'}, {self.url}, {state})"


__all__ = ["Service", "ServiceError", "free_port"]
