"""``trackline show RUN``: one run's state, config, summary, pinned keys and files."""

from __future__ import annotations

from typing import Any

import click

from trackline.cli.common import (
    STATE_STYLE,
    console,
    echo_json,
    flat_items,
    fmt_duration,
    fmt_size,
    fmt_value,
    json_option,
    open_api,
    resolve_run,
    store_option,
)


@click.command("show")
@click.argument("run_path", metavar="RUN")
@json_option
@store_option
def show_cmd(run_path: str, as_json: bool, store: str | None) -> None:
    """Show a run: state, config, summary, pinned keys, metrics and files.

    RUN is ENTITY/PROJECT/RUN_ID, PROJECT/RUN_ID, a run id, or a run folder
    (./trackline/run-..., ./trackline/latest-run).
    """
    api = open_api(store)
    run = resolve_run(api, run_path)
    files = [{"name": f.name, "size": f.size} for f in run.files()]
    keys = run.history_keys()
    if as_json:
        echo_json({**run.to_dict(), "history_keys": keys, "files": files})
        return
    _print(run, keys, files)


def _print(run: Any, keys: list[str], files: list[dict[str, Any]]) -> None:
    from rich.table import Table

    out = console()
    style = STATE_STYLE.get(run.state, "")
    state = f"[{style}]{run.state}[/]" if style else run.state
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    meta = run.metadata
    git = meta.get("git") or {}
    rows = [
        ("run", "/".join(run.path)),
        ("name", run.name or ""),
        ("state", state + (f" ({run.reason})" if run.reason else "")),
        ("created", run.created_at.replace("T", " ").rstrip("Z")),
        ("finished", (run.finished_at or "").replace("T", " ").rstrip("Z")),
        ("runtime", fmt_duration(run.runtime)),
        ("steps", str(run.lastHistoryStep + 1)),
        ("tags", ", ".join(run.tags)),
        ("group", run.group or ""),
        ("job type", run.job_type or ""),
        ("notes", run.notes or ""),
        ("host", run.host or ""),
        ("program", " ".join([str(meta.get("program") or ""), *map(str, meta.get("args") or [])]).strip()),
        ("git", " ".join(x for x in (git.get("commit", "")[:12], git.get("branch", "")) if x)),
        ("url", run.url),
    ]
    for k, v in rows:
        if v:
            head.add_row(k, v)
    out.print(head)
    if run.pinned_keys:
        out.print("\n[bold]References[/] (pinned config keys)")
        pinned = dict(flat_items(run.config))
        for key in run.pinned_keys:
            out.print(f"  {key} = {fmt_value(pinned.get(key, ''))}")
    for title, tree in (("Config", run.config), ("Summary", run.summary_metrics)):
        items = flat_items(tree)
        if not items:
            continue
        table = Table(title=title, title_justify="left", title_style="bold", box=None, show_header=False)
        table.add_column(style="cyan")
        table.add_column()
        for k, v in items:
            table.add_row(k, fmt_value(v))
        out.print()
        out.print(table)
    if keys:
        out.print(f"\n[bold]Metrics[/] ({len(keys)}): " + ", ".join(keys))
    if files:
        table = Table(title="Files", title_justify="left", title_style="bold", box=None, show_header=False)
        table.add_column()
        table.add_column(justify="right")
        for f in files:
            table.add_row(f["name"], fmt_size(f["size"]))
        out.print()
        out.print(table)
