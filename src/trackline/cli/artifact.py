"""``trackline artifact put/get/ls/rm`` and ``trackline artifact cache cleanup``.

Names are W&B's: ``[[ENTITY/]PROJECT/]NAME[:vN|:ALIAS]`` (project: ``--project``, your
settings, else ``uncategorized``). ``put`` logs through a short run (job type ``auto``)
so the upload goes through the crash-safe record log like any other.
"""

from __future__ import annotations

import os
import re
from typing import Any

import click

from trackline.cli.common import PathError, echo_json, json_option, open_api, store_option


def fmt_bytes(n: int | float | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*", text.lower())
    if not m:
        raise click.BadParameter(f"{text!r} is not a size; write it like 500MB or 10GB")
    unit = (m.group(2) or "b").rstrip("b").rstrip("i")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(unit or " "))


def _api(store: str | None, project: str | None = None) -> Any:
    api = open_api(store)
    if project:
        api.settings.project = project
    return api


def _version_row(art: Any) -> dict[str, Any]:
    return {
        "name": art.qualified_name,
        "version": art.version,
        "type": art.type,
        "aliases": sorted(art.aliases),
        "tags": art.tags,
        "digest": art.digest,
        "size": art.size,
        "files": art.file_count,
        "created_at": art.created_at,
        "description": art.description,
        "metadata": art.metadata,
    }


def _fetch(api: Any, name: str, type_: str | None = None) -> Any:
    from trackline.artifacts import ArtifactNotFoundError

    try:
        return api.artifact(name, type=type_)
    except ArtifactNotFoundError as exc:
        raise PathError(str(exc))
    except ValueError as exc:
        raise PathError(str(exc))


@click.group("artifact")
def artifact_group() -> None:
    """Artifacts: log a folder or file as a version, download, list, delete."""


@artifact_group.command("put")
@click.argument("path", type=click.Path(exists=True))
@click.option("--name", "-n", "name", help="[[ENTITY/]PROJECT/]NAME (default: the file or folder name).")
@click.option("--type", "-t", "type_", default="dataset", show_default=True, help="Artifact type.")
@click.option("--alias", "-a", "aliases", multiple=True, help="Alias for this version (repeatable).")
@click.option("--description", "-d", help="Description of the version.")
@click.option("--project", "-p", help="Project (when --name does not say).")
@json_option
@store_option
def put_cmd(path: str, name: str | None, type_: str, aliases: tuple[str, ...], description: str | None,
            project: str | None, as_json: bool, store: str | None) -> None:
    """Log PATH (a file or folder) as a new version of an artifact."""
    import trackline
    from trackline.artifacts.naming import ArtifactPath
    from trackline.settings import Settings

    parsed = ArtifactPath.from_str(name or os.path.basename(os.path.abspath(path)))
    if parsed.version:
        raise click.BadParameter("give the name without :version; versions are assigned", param_hint="--name")
    art = trackline.Artifact(parsed.name, type_, description=description)
    if os.path.isdir(path):
        art.add_dir(path)
    else:
        art.add_file(path)
    settings = Settings(silent=True, console="off", x_disable_stats=True)
    if store:
        settings.store = store
    run = trackline.init(project=parsed.project or project, entity=parsed.entity, job_type="auto",
                         mode="online", settings=settings, reinit="create_new")
    try:
        logged = run.log_artifact(art, aliases=list(aliases)).wait()
    finally:
        run.finish()
    if as_json:
        echo_json(_version_row(logged))
    else:
        click.echo(f"Artifact {logged.qualified_name} ({logged.file_count} files, {fmt_bytes(logged.size)}, "
                   f"aliases: {', '.join(sorted(logged.aliases))})")


@artifact_group.command("get")
@click.argument("name")
@click.option("--root", "-r", help="Download into this folder (default ./artifacts/NAME:vN).")
@click.option("--type", "-t", "type_", help="Fail unless the artifact has this type.")
@json_option
@store_option
def get_cmd(name: str, root: str | None, type_: str | None, as_json: bool, store: str | None) -> None:
    """Download an artifact version (from the local blob store or the download cache)."""
    art = _fetch(_api(store), name, type_)
    folder = art.download(root)
    stats = getattr(art, "_last_download", None)
    if as_json:
        echo_json({**_version_row(art), "root": folder,
                   "written": getattr(stats, "written", None), "unchanged": getattr(stats, "unchanged", None)})
    else:
        click.echo(folder)


@artifact_group.command("ls")
@click.argument("path", required=False)
@click.option("--type", "-t", "type_", help="Only collections of this type.")
@json_option
@store_option
def ls_cmd(path: str | None, type_: str | None, as_json: bool, store: str | None) -> None:
    """List a project's artifact collections, or the versions of one (PROJECT/NAME).

    \b
    trackline artifact ls mnist              collections of project mnist
    trackline artifact ls mnist/dataset      versions of collection dataset
    """
    from trackline.artifacts import public

    api = _api(store)
    parts = [p for p in (path or "").strip("/").split("/") if p]
    is_collection = len(parts) == 3 or (len(parts) == 2 and api.reader.project(*parts) is None)
    if is_collection:
        try:
            versions = public.artifacts(api, type_, "/".join(parts))  # type: ignore[arg-type]
        except ValueError as exc:  # ArtifactNotFoundError is a ValueError
            raise PathError(str(exc))
        rows = [_version_row(a) for a in versions]
        if as_json:
            echo_json(rows)
            return
        for r in rows:
            click.echo(f"{r['version']:>5}  {fmt_bytes(r['size']):>9}  {r['files']:>6} files  "
                       f"{r['created_at']}  {','.join(r['aliases'])}")
        return
    try:
        colls = api.artifact_collections("/".join(parts) or None, type_)
    except ValueError as exc:
        raise PathError(str(exc))
    rows = [{"name": c.name, "type": c.type, "project": f"{c.entity}/{c.project}", "versions": c.version_count,
             "aliases": c.aliases, "portfolio": not c.is_sequence()} for c in colls]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no artifacts", err=True)
    for r in rows:
        kind = " (links)" if r["portfolio"] else ""
        count = f"{r['versions']} version" + ("" if r["versions"] == 1 else "s")
        click.echo(f"{r['type']:<12} {r['name']}{kind}  {count}  {','.join(r['aliases'])}")


@artifact_group.command("rm")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("--keep-last", type=click.IntRange(min=0), metavar="N",
              help="NAME is a collection (or a project): delete all but its newest N versions "
                   "(versions with a custom alias are kept).")
@click.option("--delete-aliases", is_flag=True, help="Delete versions that have aliases too.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@store_option
def rm_cmd(names: tuple[str, ...], keep_last: int | None, delete_aliases: bool, dry_run: bool, yes: bool,
           as_json: bool, store: str | None) -> None:
    """Delete artifact versions (NAME:vN) or, with --keep-last, old versions of collections.

    Space is accounted at once: the bytes no other version or run file references are
    reported; `trackline gc` then frees them.
    """
    from trackline.artifacts import gc as gc_mod
    from trackline.artifacts import public
    from trackline.storage.sql.artifacts import ArtifactConflict

    api = _api(store)
    db = public.client_for(api).db
    if keep_last is not None:
        victims: list[dict[str, Any]] = []
        for name in names:
            path = [p for p in name.strip("/").split("/") if p]
            entity, project, collection = _split_collection(api, path)
            found, _ = gc_mod.keep_last(db, entity, project, collection, keep_last, dry_run=True)
            victims += found
        labels = [f"{v['entity']}/{v['project']}/{v['collection']}:v{v['version_index']}" for v in victims]
        if not dry_run and victims and not yes:
            for label in labels:
                click.echo(f"  {label}", err=True)
            click.confirm(f"Delete {len(victims)} versions?", abort=True, err=True)
        freed = 0
        if not dry_run and victims:
            freed = db.delete([int(v["id"]) for v in victims], delete_aliases=True).unreferenced_bytes
        else:
            freed = sum(int(v.get("size") or 0) for v in victims)
        _report(labels, freed, dry_run, as_json)
        return
    arts = [_fetch(api, n) for n in names]
    labels = [a.qualified_name for a in arts]
    if dry_run:
        _report(labels, sum(a.size for a in arts), True, as_json)
        return
    if not yes:
        for label in labels:
            click.echo(f"  {label}", err=True)
        click.confirm(f"Delete {len(arts)} versions?", abort=True, err=True)
    try:
        result = db.delete([int(a._row["id"]) for a in arts], delete_aliases=delete_aliases)
    except ArtifactConflict as exc:
        raise PathError(f"{exc} (on the command line: --delete-aliases); nothing was deleted")
    _report(labels, result.unreferenced_bytes, False, as_json)


def _split_collection(api: Any, parts: list[str]) -> tuple[str, str, str | None]:
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        if api.reader.project(*parts) is not None:
            return parts[0], parts[1], None
        return api.default_entity, parts[0], parts[1]
    if len(parts) == 1:
        return api.default_entity, api.settings.project or "uncategorized", parts[0]
    raise PathError("give a collection: [[ENTITY/]PROJECT/]NAME")


def _report(labels: list[str], freed: int, dry_run: bool, as_json: bool) -> None:
    if as_json:
        echo_json({"deleted": [] if dry_run else labels, "would_delete": labels if dry_run else [],
                   "unreferenced_bytes": freed})
        return
    verb = "Would delete" if dry_run else "Deleted"
    for label in labels:
        click.echo(f"{verb} {label}")
    if not labels:
        click.echo("nothing to delete", err=True)
    elif not dry_run:
        click.echo(f"{fmt_bytes(freed)} no longer referenced; `trackline gc` frees it", err=True)


@artifact_group.group("cache")
def cache_group() -> None:
    """The download cache."""


@cache_group.command("cleanup")
@click.argument("target_size")
@json_option
def cache_cleanup_cmd(target_size: str, as_json: bool) -> None:
    """Shrink the download cache to TARGET_SIZE (e.g. 10GB), least recently used first."""
    from trackline.artifacts.cache import ArtifactCache
    from trackline.artifacts.staging import cache_root

    cache = ArtifactCache(cache_root())
    freed = cache.cleanup(parse_size(target_size))
    if as_json:
        echo_json({"bytes_freed": freed, "size": cache.size()})
    else:
        click.echo(f"Freed {fmt_bytes(freed)}; the cache holds {fmt_bytes(cache.size())}")
