"""Run the app with uvicorn on a socket bound here (so the printed port is the real one)."""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import webbrowser
from collections.abc import Callable

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7878
_TRIES = 20  # after the default port: this many next ports, then any free port


class PortInUse(OSError):
    pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def bind(host: str, port: int, fallback: bool) -> socket.socket:
    """Bind ``host:port``; if it is taken and ``fallback``, the next free port (or any)."""
    try:
        return _bind(host, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or not fallback:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(exc.errno, f"port {port} on {host} is already in use; "
                                           "pick another with --port (0: any free port)")
            raise
    for candidate in [*range(port + 1, port + 1 + _TRIES), 0]:
        try:
            return _bind(host, candidate)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise PortInUse(errno.EADDRINUSE, f"no free port found on {host}")


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def serve(
    store_url: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    port_fallback: bool = True,
    open_browser: bool = False,
    log_level: str = "warning",
    static_dir: str | None = None,
    announce: Callable[[str, int], None] | None = None,
) -> None:
    """Serve the UI and API until interrupted. ``announce(url, requested_port)`` runs once bound."""
    import uvicorn

    from trackline.server.app import create_app

    sock = bind(host, port, port_fallback)
    bound_port = int(sock.getsockname()[1])
    url = url_for(host, bound_port)
    allowed = ["127.0.0.1", "localhost", "::1", "[::1]"] if is_loopback(host) else None
    app = create_app(store_url, static_dir=static_dir, allowed_hosts=allowed)
    config = uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=log_level in ("info", "debug"))
    server = uvicorn.Server(config)
    if announce is not None:
        announce(url, port)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
