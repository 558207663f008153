"""The `linksyn` command: `run`, `ui`, `disciplines`, one module per role: arguments, environment (DAGSTER_HOME,
data dir, settings file, resources), runner (the stage loop), growth (rounds toward a target), board (the
progress view), summary (what is printed at the end), commands (`disciplines`, `ui`)."""

import sys

from linksyn_assets.cli.arguments import parse_args
from linksyn_assets.cli.commands import disciplines, settings, ui
from linksyn_assets.cli.environment import SetupError
from linksyn_assets.cli.runner import run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    commands = {"run": run, "ui": ui, "disciplines": disciplines, "settings": settings}
    from resources import SettingsError

    try:
        return commands[args.command](args)
    except (SetupError, SettingsError) as exc:
        print(f"linksyn: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
