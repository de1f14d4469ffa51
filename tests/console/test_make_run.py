"""`make run` on a fresh VAR_DIR, as a new developer runs it: the terminal ends with one box
holding the URL and the demo's sign-in, printed once the web server answers, followed only by
the request log; the demo's emails go to files, Celery's banners to log files.

Slow: it migrates a new SQLite database, loads the demo and starts the web server, the worker
and beat (its own port and VAR_DIR, whatever the pass's database)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# runserver's access log: `[03/Dec/2026 16:23:39] "GET /login/ HTTP/1.1" 200 2975`.
REQUEST_LOG = re.compile(r'^\[\d\d/\w{3}/\d{4} [\d:]{8}\] "')

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(path: Path, text: str, process: subprocess.Popen, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        output = path.read_text(errors="replace")
        if text in output:
            return output
        if process.poll() is not None:
            pytest.fail(f"make run exited ({process.returncode}):\n{output}")
        time.sleep(0.5)
    pytest.fail(f"no {text!r} within {seconds} s:\n{path.read_text(errors='replace')}")


@pytest.fixture
def make_run(tmp_path):
    """`make run` on a free port and a new VAR_DIR; yields (base URL, terminal file, VAR_DIR)
    and stops it all as Ctrl-C does (the whole process group)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DEBUG", "DJANGO", "REDIS_URL", "DATABASE_URL", "EMAIL"))
    }
    port, var_dir = _free_port(), tmp_path / "var"
    terminal = tmp_path / "terminal.txt"
    with terminal.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}", f"VAR_DIR={var_dir}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}", terminal, var_dir, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_make_run_ends_with_the_sign_in_box_then_only_the_request_log(make_run):
    base, terminal, var_dir, process = make_run
    _wait_for(terminal, "└", process, seconds=300)
    with urllib.request.urlopen(f"{base}/login/", timeout=10) as response:  # noqa: S310
        assert response.status == 200
    output = _wait_for(terminal, '"GET /login/ HTTP/1.1" 200', process, seconds=20)

    lines = output.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("┌"))
    bottom = next(i for i, line in enumerate(lines) if line.startswith("└"))
    box = "\n".join(lines[top : bottom + 1])
    assert f"Sign in at {base}/login/" in box
    assert "email:     demo@moments.test" in box
    assert re.search(r"password:  \S{12,}", box)
    assert f"{var_dir}/emails/" in box
    # Printed after the web server answered: its start-up lines are above the box.
    assert "Starting development server" in "\n".join(lines[:top])
    # After the box: the request log only (the readiness poll's health checks are not logged).
    after = [line for line in lines[bottom + 1 :] if line.strip()]
    assert after and all(REQUEST_LOG.match(line) for line in after), after
    # Nothing of the demo's emails or Celery's banners in the terminal.
    assert "Subject:" not in output and "[tasks]" not in output and "celery@" not in output
    assert any((var_dir / "emails").iterdir())
    assert (var_dir / "logs" / "worker.log").exists()
