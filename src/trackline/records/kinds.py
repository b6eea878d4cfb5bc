"""Record kinds: the first element of every record payload.

A record is a msgpack array ``[kind, ...fields]``. Kinds are never renumbered;
new kinds take new numbers so old logs stay readable.
"""

from __future__ import annotations

RUN = 1  # [RUN, {run identity, config, metadata, ...}]          first record of a stream
HISTORY = 2  # [HISTORY, data, step | None, commit | None, ts]     one log() call
CONFIG = 3  # [CONFIG, {key: value}, [removed keys]]
SUMMARY = 4  # [SUMMARY, [[path, value], ...], [removed paths]]    explicit summary edits
METRIC = 5  # [METRIC, {definition}]                                define_metric()
RUN_UPDATE = 6  # [RUN_UPDATE, {name/notes/tags/...}]
EXIT = 7  # [EXIT, {exit_code, state, reason, ts}]
PREEMPTING = 8  # [PREEMPTING, ts]
ALERT = 9  # [ALERT, {title, text, level, wait_ms, ts}]
FILES = 10  # [FILES, [{"path": relative to files/, "policy": now|live|end, "ts": t}]]
OUTPUT = 11  # [OUTPUT, stream, text, ts]
STATS = 12  # [STATS, {system metric: value}, ts]
ALERT_STATUS = 13  # [ALERT_STATUS, alert seq, {channel: {ok, error, attempts}}]
# Artifacts (trackline.artifacts.run_artifacts builds them; storage/sql/artifacts.py applies them):
ARTIFACT = 14  # [ARTIFACT, {client_id, entity, project, name, type, mode: log|upsert|finish, entries, ...}]
ARTIFACT_USE = 15  # [ARTIFACT_USE, {client_id, id: version id or the logging request's client id, ...}]
ARTIFACT_LINK = 16  # [ARTIFACT_LINK, {client_id, id, entity, project, collection, aliases}]

NAMES = {
    RUN: "run",
    HISTORY: "history",
    CONFIG: "config",
    SUMMARY: "summary",
    METRIC: "metric",
    RUN_UPDATE: "run_update",
    EXIT: "exit",
    PREEMPTING: "preempting",
    ALERT: "alert",
    FILES: "files",
    OUTPUT: "output",
    STATS: "stats",
    ALERT_STATUS: "alert_status",
    ARTIFACT: "artifact",
    ARTIFACT_USE: "artifact_use",
    ARTIFACT_LINK: "artifact_link",
}
