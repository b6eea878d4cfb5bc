"""``trackline ls``: projects, or the runs of a project (filtered, sorted, limited)."""

from __future__ import annotations

from typing import Any

import click

from trackline.cli.common import (
    STATE_STYLE,
    PathError,
    console,
    echo_json,
    fmt_duration,
    fmt_value,
    json_option,
    missing_store,
    open_api,
    parse_filters,
    resolve_project,
    store_option,
)


def run_listing(run: Any) -> dict[str, Any]:
    """One run of a listing, as ``ls --json`` prints it."""
    return {
        "path": "/".join(run.path),
        "id": run.id,
        "name": run.name,
        "state": run.state,
        "created_at": run.created_at,
        "runtime": run.runtime,
        "last_step": run.lastHistoryStep,
        "tags": list(run.tags),
        "group": run.group,
        "job_type": run.job_type,
        "config": run.config,
        "summary": run.summary_metrics,
    }


@click.command("ls")
@click.argument("path", required=False)
@click.option("--filter", "-f", "filter_text", metavar="JSON",
              help='W&B filter, e.g. \'{"config.lr": {"$gt": 0.01}, "state": "finished"}\'.')
@click.option("--sort", "-s", "order", default="-created_at", show_default=True, metavar="ORDER",
              help="+FIELD or -FIELD: created_at, state, summary_metrics.<key>, config.<key>, ...")
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(min=0),
              help="Show at most this many runs (0: all).")
@click.option("--columns", "-c", "columns", metavar="KEYS",
              help="Extra columns: comma-separated config.<key> / summary.<key> names.")
@json_option
@store_option
def ls_cmd(path: str | None, filter_text: str | None, order: str, limit: int, columns: str | None,
           as_json: bool, store: str | None) -> None:
    """List projects, or the runs of a project.

    \b
    trackline ls                        every project in the store
    trackline ls mnist                  runs of project mnist (your entity)
    trackline ls me/mnist -f '{"state": "finished"}' -s -summary_metrics.acc -n 10
    """
    filters = parse_filters(filter_text)
    if path is None:
        if filter_text is not None:
            raise click.UsageError("--filter applies to runs: give a project, e.g. `trackline ls PROJECT -f ...`")
        from trackline.settings import resolve

        if (missing := missing_store(resolve(None, {"store": store} if store else None).store_url)) is not None:
            # Nothing tracked yet (or a mistyped --store): said, and no empty store left there.
            if as_json:
                echo_json([])
            else:
                click.echo(f"No projects yet: no store at {missing}. Track a run with trackline.init(project=...).")
            return
        _list_projects(open_api(store), as_json)
        return
    api = open_api(store)
    if len([p for p in path.strip("/").split("/") if p]) > 2:
        raise PathError(f"{path!r} is a run path; `trackline show {path}` shows one run, `trackline ls` takes a project")
    entity, project = resolve_project(api, path)
    try:
        runs = api.runs(f"{entity}/{project}", filters=filters, order=order, per_page=min(limit or 500, 500))
    except ValueError as exc:  # the message starts with "order:" or "filters:"
        hint = "--sort" if str(exc).startswith("order") else "--filter"
        raise click.BadParameter(str(exc), param_hint=hint) from exc
    total = len(runs)
    shown: list[Any] = []
    for run in runs:
        if limit and len(shown) >= limit:
            break
        shown.append(run)
    if as_json:
        echo_json([run_listing(r) for r in shown])
    else:
        extra = [c.strip() for c in (columns or "").split(",") if c.strip()]
        _print_runs(f"{entity}/{project}", shown, extra)
    if len(shown) < total:
        click.echo(f"showing {len(shown)} of {total} runs; --limit 0 shows all", err=True)


def _list_projects(api: Any, as_json: bool) -> None:
    projects = api.projects()
    if as_json:
        echo_json([p.to_dict() for p in projects])
        return
    if not projects:
        click.echo(f"No projects yet in {api.location}. Track a run with trackline.init(project=...).")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("PROJECT", "RUNS", "CREATED"):
        table.add_column(col)
    for p in projects:
        table.add_row(f"{p.entity}/{p.name}", str(p.run_count), (p.created_at or "").replace("T", " ").rstrip("Z"))
    console().print(table)


def _lookup(run: Any, column: str) -> Any:
    prefix, _, key = column.partition(".")
    source = run.config if prefix == "config" else run.summary_metrics if prefix in ("summary", "summary_metrics") else None
    if source is None or not key:
        raise click.BadParameter(f"{column!r}: use config.<key> or summary.<key>", param_hint="--columns")
    node: Any = source
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    return fmt_value(node, 24)


def _print_runs(where: str, runs: list[Any], extra: list[str]) -> None:
    from rich.table import Table

    if not runs:
        click.echo(f"No runs in {where} match.")
        return
    table = Table(box=None, header_style="bold")
    for col in ("ID", "NAME", "STATE", "CREATED", "RUNTIME", "STEPS", "TAGS", "GROUP", *extra):
        table.add_column(col, no_wrap=col not in ("NAME", "TAGS"), overflow="fold" if col in ("NAME", "TAGS") else "ellipsis")
    for run in runs:
        state = run.state
        style = STATE_STYLE.get(state, "")
        table.add_row(
            run.id,
            run.name or "",
            f"[{style}]{state}[/]" if style else state,
            run.created_at.replace("T", " ").rstrip("Z"),
            fmt_duration(run.runtime),
            str(run.lastHistoryStep + 1),
            ",".join(run.tags),
            run.group or "",
            *(_lookup(run, c) for c in extra),
        )
    console().print(table)
