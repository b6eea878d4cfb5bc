"""Real servers on 127.0.0.1 for reference tests: an HTTP file server and moto's S3 server."""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


class CountingServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.gets: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
                super().__init__(*a, directory=str(server.root), **kw)

            def end_headers(self) -> None:
                path = self.translate_path(self.path)
                if os.path.isfile(path):
                    with open(path, "rb") as f:
                        self.send_header("ETag", '"' + hashlib.md5(f.read()).hexdigest() + '"')
                super().end_headers()

            def do_GET(self) -> None:
                server.gets.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[CountingServer]:
    root = tmp_path / "served"
    root.mkdir()
    server = CountingServer(root)
    yield server
    server.close()


def _moto_server() -> str | None:
    here = Path(sys.executable).parent / "moto_server"
    return str(here) if here.exists() else shutil.which("moto_server")


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's standalone S3 server on 127.0.0.1; boto3 finds it through AWS_ENDPOINT_URL."""
    pytest.importorskip("boto3")
    exe = _moto_server()
    if exe is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
    for k, v in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    assert re.match(r"http://127\.0\.0\.1:\d+", url)
