"""`trackline ui`: binds 127.0.0.1, prints its URL, falls back to a free port, serves the API."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import child_env
from trackline.server.serve import PortInUse, bind, is_loopback, url_for


def _busy_port() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def test_bind_falls_back_to_a_free_port_only_when_allowed() -> None:
    busy = _busy_port()
    port = busy.getsockname()[1]
    try:
        sock = bind("127.0.0.1", port, fallback=True)
        assert sock.getsockname()[1] != port
        sock.close()
        with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 is already in use"):
            bind("127.0.0.1", port, fallback=False)
    finally:
        busy.close()


def test_urls_and_loopback() -> None:
    assert url_for("127.0.0.1", 7878) == "http://127.0.0.1:7878"
    assert url_for("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert url_for("::1", 80) == "http://[::1]:80"
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "trackline.cli.main", "ui", *args],
        env=child_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("trackline UI: http://127.0.0.1:"), line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
    return proc, line.split()[2]


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    return err


def test_trackline_ui_serves_the_api_on_loopback(tmp_path: Path) -> None:
    proc, url = _start(tmp_path, "--port", "0")
    try:
        health = httpx.get(url + "/api/v1/health", timeout=10).json()
        assert health["ok"] is True
        assert httpx.get(url + "/api/v1/projects", timeout=10).json() == {"projects": []}
        # bound to 127.0.0.1 only, and Host headers other than loopback names are refused
        assert httpx.get(url + "/api/v1/health", headers={"host": "evil.example"}, timeout=10).status_code == 400
    finally:
        _stop(proc)


def test_a_taken_default_port_moves_to_a_free_one_but_an_explicit_one_fails(tmp_path: Path) -> None:
    busy = _busy_port()
    port = busy.getsockname()[1]
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "trackline.cli.main", "ui", "--port", str(port)],
            env=child_env(tmp_path), capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode != 0
        assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr
    finally:
        busy.close()
    holder = None
    try:
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 7878))
        holder.listen(1)
    except OSError:
        holder = None  # something else holds 7878 already: the fallback is exercised anyway
    try:
        proc2, url = _start(tmp_path)
        try:
            assert not url.endswith(":7878")
            assert httpx.get(url + "/api/v1/health", timeout=10).status_code == 200
        finally:
            err = _stop(proc2)
        assert "Port 7878 is in use; using" in err
    finally:
        if holder is not None:
            holder.close()


def test_open_hands_the_url_to_the_browser(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    fake = tmp_path / "fake-browser"
    fake.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    fake.chmod(0o755)
    env = child_env(tmp_path, BROWSER=str(fake))
    proc = subprocess.Popen(
        [sys.executable, "-m", "trackline.cli.main", "ui", "--port", "0", "--open"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[2]
        for _ in range(100):
            if opened.exists() and opened.read_text().strip():
                break
            time.sleep(0.1)
        assert opened.read_text().strip() == url
    finally:
        _stop(proc)
