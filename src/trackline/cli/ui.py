"""``trackline ui``: serve the web UI and REST API on this machine's store."""

from __future__ import annotations

import click

from trackline.settings import resolve


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback exposes your runs to the network.")
@click.option("--port", type=int, default=None,
              help="Port (default 7878, or the next free one if it is taken; 0: any free port).")
@click.option("--store", help="Store path or URL (default: settings / TRACKLINE_STORE).")
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in a browser.")
@click.option("--verbose", is_flag=True, help="Log every request.")
def ui_cmd(host: str, port: int | None, store: str | None, open_browser: bool, verbose: bool) -> None:
    """Serve the web UI (workspace, runs table, charts, run pages) and the REST API.

    Prints the URL, then serves until Ctrl-C. The API is under /api/v1
    (spec: /api/v1/openapi.json).
    """
    from trackline.server.serve import DEFAULT_PORT, PortInUse, serve

    settings = resolve(None, {"store": store} if store else None)

    def announce(url: str, requested: int) -> None:
        bound = int(url.rsplit(":", 1)[1])
        if requested not in (0, bound):
            click.echo(f"Port {requested} is in use; using {bound} instead.", err=True)
        click.echo(f"trackline UI: {url}  (store: {settings.store_url})", nl=True)
        click.echo("Press Ctrl-C to stop.", err=True)

    try:
        serve(
            settings.store_url,
            host=host,
            port=DEFAULT_PORT if port is None else port,
            port_fallback=port is None,
            open_browser=open_browser,
            log_level="info" if verbose else "warning",
            announce=announce,
        )
    except PortInUse as exc:
        raise click.ClickException(str(exc.strerror or exc))
