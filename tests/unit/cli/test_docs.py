"""docs/cli.md lists every command of `trackline` and documents each of its options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from trackline.cli.main import cli

DOCS = (Path(__file__).resolve().parents[3] / "docs" / "cli.md").read_text()


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*path, name))
        else:
            yield " ".join(("trackline", *path, name)), cmd


COMMANDS = dict(commands())


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_and_option_is_documented(path: str) -> None:
    cmd = COMMANDS[path]
    assert f"`{path}" in DOCS, f"docs/cli.md does not list {path}"
    for param in cmd.params:
        for opt in getattr(param, "opts", ()):
            if opt.startswith("--") and opt != "--help":
                assert opt in DOCS, f"docs/cli.md does not document {path} {opt}"


def test_the_listing_is_complete() -> None:
    assert set(COMMANDS) >= {
        "trackline artifact put", "trackline artifact get", "trackline artifact ls", "trackline artifact rm",
        "trackline artifact cache cleanup", "trackline gc", "trackline ui",
    }
