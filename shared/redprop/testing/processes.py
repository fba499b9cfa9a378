"""``redprop`` as separate processes, the way a pod or a container runs it (smoke and CLI tests).

    proc = RedpropProcess(["run", "registry"], env=env, cwd=tmp_path).start()
    proc.wait_ready(metrics_port=9101)
    code, seconds = proc.terminate()

Output goes to files (a pipe nobody reads would block a chatty service), read back by ``output()``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REDPROP = Path(sys.executable).with_name("redprop")


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any REDPROP_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("REDPROP_")}
    env.update(extra or {})
    return env


def run_command(args: list[str], *, env: dict[str, str], cwd: Path, stdin: str | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(REDPROP), *args], env=env, cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=timeout)


class RedpropProcess:
    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path, name: str | None = None):
        self.args, self.env, self.cwd = list(args), env, Path(cwd)
        self.name = name or "-".join(args)
        self._out = self.cwd / f"{self.name}.out"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedpropProcess:
        with open(self._out, "wb") as out:
            self.proc = subprocess.Popen([str(REDPROP), *self.args], env=self.env, cwd=self.cwd, stdout=out,
                                         stderr=subprocess.STDOUT)
        return self

    def output(self) -> str:
        return self._out.read_text(encoding="utf-8", errors="replace") if self._out.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, metrics_port: int, timeout: float = 90.0) -> dict:
        """Poll /readyz on the metrics port until it answers 200; the answer's JSON (or {})."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/readyz", timeout=5) as reply:
                    body = reply.read().decode()
                    try:
                        return json.loads(body)
                    except ValueError:
                        return {}
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.5)
        raise AssertionError(f"{self.name} not ready on port {metrics_port} after {timeout}s ({last}):\n"
                             f"{self.output()[-3000:]}")

    def terminate(self, timeout: float = 30.0) -> tuple[int | None, float]:
        """SIGTERM, then wait up to ``timeout``: (exit code or None if it had to be killed, seconds taken)."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()
