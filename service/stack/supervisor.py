"""The children of `cybercover up`. One that exits is reported and restarted after a back-off that
doubles with each quick failure (up to BACKOFF_MAX) and resets after HEALTHY_AFTER seconds of running;
none stops the others. Logs in `<data dir>/logs/`, running children's pids in `<data dir>/pids.json`."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from contracts.procs import stop
from contracts.runtime import private_dir, write_private

PID_FILE = "pids.json"


def running(data_dir: Path) -> dict[str, int]:
    """Pids by child name; {} when none runs."""
    path = data_dir / PID_FILE
    return {str(k): int(v) for k, v in json.loads(path.read_text()).items()} if path.exists() else {}


class Supervisor:
    BACKOFF_START = 1.0
    BACKOFF_MAX = 60.0
    HEALTHY_AFTER = 60.0

    def __init__(self, data_dir: Path, report: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logs = private_dir(data_dir / "logs")
        self.pid_file = data_dir / PID_FILE
        self.report = report
        self.clock = clock
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._specs: dict[str, tuple[list[str], dict[str, str]]] = {}
        self._started: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._due: dict[str, float] = {}  # name → when a dead child is restarted

    def _write_pids(self) -> None:
        write_private(self.pid_file, json.dumps({n: p.pid for n, p in self.children.items()}))

    def start(self, name: str, cmd: list[str], env: dict[str, str], note: bytes = b"") -> None:
        self._specs[name] = (cmd, env)
        self._due.pop(name, None)
        self._started[name] = self.clock()
        log = os.open(self.logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(log, note)
        try:
            self.children[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        except OSError as exc:  # not even started: handled like a child that exited at once
            os.write(log, f"--- cybercover up could not start {name}: {exc}\n".encode())
            self.children.pop(name, None)
            self._schedule(name, f"could not start ({exc.strerror})")
        finally:
            os.close(log)  # the child holds its own descriptor
        self._write_pids()

    def stop(self, name: str, timeout: float = 20) -> None:
        for state in (self._specs, self._due, self._backoff):
            state.pop(name, None)
        stop(self.children.pop(name, None), timeout)
        self._write_pids()

    def _schedule(self, name: str, why: str) -> None:
        ran = self.clock() - self._started.get(name, self.clock())
        delay = self.BACKOFF_START if ran >= self.HEALTHY_AFTER else self._backoff.get(name, 0.0)
        delay = min(max(delay, self.BACKOFF_START), self.BACKOFF_MAX)
        self._backoff[name] = min(delay * 2, self.BACKOFF_MAX)
        self._due[name] = self.clock() + delay
        self.report(f"{name} {why}; restarting in {delay:.0f} s (log: {self.logs / f'{name}.log'})")

    def restart_dead(self) -> list[str]:
        """Schedules exited children for a restart and restarts those whose back-off is over;
        returns the names restarted."""
        dead = [name for name, proc in self.children.items() if proc.poll() is not None]
        for name in dead:
            self._schedule(name, f"exited with code {self.children.pop(name).returncode}")
        if dead:
            self._write_pids()
        restarted = []
        for name, due in list(self._due.items()):
            if self.clock() >= due and name in self._specs:
                self.start(name, *self._specs[name], note=b"--- restarted by cybercover up\n")
                restarted.append(name)
        return restarted

    def stop_all(self) -> None:
        """Stops every child, newest first."""
        for name in reversed(list(self.children)):
            self.stop(name)
        self.pid_file.unlink(missing_ok=True)
