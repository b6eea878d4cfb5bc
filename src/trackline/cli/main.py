"""The ``trackline`` command."""

from __future__ import annotations

import sys

import click

from trackline.cli.sync import offline_cmd, online_cmd, sync_cmd
from trackline.cli.ui import ui_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trackline")
def cli() -> None:
    """trackline: a local-first experiment tracker that speaks the W&B run API."""


cli.add_command(sync_cmd)
cli.add_command(offline_cmd)
cli.add_command(online_cmd)
cli.add_command(ui_cmd)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
