"""``trackline gc``: delete blobs nothing references (and artifact versions whose TTL ran out)."""

from __future__ import annotations

import re

import click

from trackline.cli.common import echo_json, json_option, open_api, store_option


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration; write it like 0, 90s, 30m, 1h or 2d",
                                 param_hint="--grace")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@click.command("gc")
@click.option("--grace", default="1h", show_default=True, metavar="DURATION",
              help="Keep unreferenced blobs younger than this (writes in flight).")
@click.option("--dry-run", is_flag=True, help="Report what would be freed; delete nothing.")
@json_option
@store_option
def gc_cmd(grace: str, dry_run: bool, as_json: bool, store: str | None) -> None:
    """Free blob store space: delete blobs no artifact version or run file references.

    Blobs named by run logs not synced yet (offline runs under ./trackline, or registered
    when an offline run logged an artifact) are kept.
    """
    from trackline.artifacts.gc import collect_garbage
    from trackline.cli.artifact import fmt_bytes

    api = open_api(store)
    try:
        report = collect_garbage(api.store, grace_seconds=parse_duration(grace), dry_run=dry_run)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    if as_json:
        echo_json({
            "dry_run": dry_run,
            "blobs_total": report.blobs_total,
            "bytes_total": report.bytes_total,
            "blobs_deleted": report.blobs_deleted,
            "bytes_freed": report.bytes_freed,
            "blobs_kept_recent": report.blobs_kept_recent,
            "blobs_kept_pending": report.blobs_kept_pending,
            "pending_logs": report.pending_logs,
            "versions_expired": report.versions_expired,
        })
        return
    verb = "Would free" if dry_run else "Freed"
    click.echo(f"{verb} {fmt_bytes(report.bytes_freed)} ({report.blobs_deleted} of {report.blobs_total} blobs, "
               f"{fmt_bytes(report.bytes_total)} stored)")
    if report.blobs_kept_pending:
        click.echo(f"kept {report.blobs_kept_pending} blobs named by {len(report.pending_logs)} run log(s) not synced "
                   "yet; `trackline sync` them to index these blobs", err=True)
    if report.blobs_kept_recent:
        click.echo(f"kept {report.blobs_kept_recent} unreferenced blobs younger than {grace}", err=True)
    if report.versions_expired:
        click.echo(f"{report.versions_expired} artifact versions had expired (TTL) and were deleted", err=True)
