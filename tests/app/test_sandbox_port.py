"""The sandbox's port: PORT / SANDBOX_PORT honoured, and a free one when it is taken."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from app.sandbox_launch import sandbox_run_config
from services.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def web_chat_port(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Start the sandbox alone, read the web chat's URL it prints, stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sandbox", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            found = re.search(r"Web chat: http://127\.0\.0\.1:(\d+)/", line)
            if found:
                return int(found.group(1)), "".join(seen)
        raise AssertionError("no web chat URL printed: " + "".join(seen))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_port_env_is_honoured() -> None:
    port = free_port()
    assert web_chat_port({"PORT": str(port), "SANDBOX_PORT": ""})[0] == port
    other = free_port()
    assert web_chat_port({"PORT": str(port), "SANDBOX_PORT": str(other)})[0] == other


def test_a_taken_port_gives_a_free_one_and_says_so() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        port, output = web_chat_port({"PORT": str(taken), "SANDBOX_PORT": ""})
    assert port != taken
    assert f"Port {taken} is taken" in output


def test_run_takes_sandbox_port_from_the_environment() -> None:
    assert sandbox_run_config(load_settings(sandbox_port=9123)).port == 9123
    assert sandbox_run_config(load_settings(sandbox_port=None)).port == 8081
