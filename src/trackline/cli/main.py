"""The ``trackline`` command."""

from __future__ import annotations

import sys

import click

from trackline.cli.artifact import artifact_group
from trackline.cli.export import export_cmd
from trackline.cli.gc import gc_cmd
from trackline.cli.ls import ls_cmd
from trackline.cli.rm import rm_cmd, runs_group
from trackline.cli.show import show_cmd
from trackline.cli.sql import query_cmd
from trackline.cli.status import status_cmd
from trackline.cli.sweep import agent_cmd, sweep_cmd
from trackline.cli.sync import offline_cmd, online_cmd, sync_cmd
from trackline.cli.ui import ui_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trackline")
def cli() -> None:
    """trackline: a local-first experiment tracker that speaks the W&B run API."""


# One line per command (or group).
cli.add_command(ls_cmd)
cli.add_command(show_cmd)
cli.add_command(export_cmd)
cli.add_command(rm_cmd)
cli.add_command(runs_group)
cli.add_command(status_cmd)
cli.add_command(query_cmd)
cli.add_command(sync_cmd)
cli.add_command(offline_cmd)
cli.add_command(online_cmd)
cli.add_command(ui_cmd)
cli.add_command(artifact_group)
cli.add_command(gc_cmd)
cli.add_command(sweep_cmd)
cli.add_command(agent_cmd)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
