"""Command line entry point.

``--help`` and ``--version`` must stay instant: this module imports neither Textual nor the
Azure SDK; each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys

SCENARIOS = ("fresh", "ready", "linked", "lagging", "broken", "sql2019", "mi-primary", "scale", "ready-windows",
             "firewalled")


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("milink-tui")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0+unknown"


class _LazyVersion(argparse.Action):
    """``--version`` that reads the package metadata only when used (it costs ~35 ms at start-up)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0,
                         help="show program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"milink {package_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="milink",
        description=(
            "Link a SQL Server database to an Azure SQL Managed Instance and keep the link "
            "healthy, from a terminal. Without a command, opens the app."
        ),
        epilog="Try it safely with `milink --lab`: a simulated SQL Server and Azure on loopback.",
    )
    parser.add_argument("--version", action=_LazyVersion)  # importlib.metadata only when asked
    parser.add_argument(
        "--lab", action="store_true", help="start the built-in lab and open the app against it"
    )
    parser.add_argument(
        "--scenario", choices=SCENARIOS, default="fresh", help="lab scenario for --lab (default: fresh)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lab = sub.add_parser("lab", help="run the simulated SQL Server + Azure lab")
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND", required=True)
    serve = lab_sub.add_parser("serve", help="serve the lab until SIGTERM/SIGINT")
    serve.add_argument("--scenario", choices=SCENARIOS, default="fresh")
    serve.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    serve.add_argument("--json", action="store_true", help="print one JSON line with endpoints when ready")
    serve.add_argument("--state-dir", default=None, help="where to write the lab CA (default: a temp dir)")
    dash = sub.add_parser("dashboard", help="the live link dashboard (against the lab, or a recording)")
    src = dash.add_mutually_exclusive_group(required=True)
    src.add_argument("--lab", metavar="SCENARIO", choices=SCENARIOS, help="start the lab in SCENARIO and watch it")
    src.add_argument("--replay", metavar="FILE", help="replay a recording made with R on the dashboard")
    dash.add_argument("--speed", type=float, default=1.0, help="replay (or lab clock) speed")
    dash.add_argument("--interval", type=float, default=2.0, help="refresh interval in seconds (min 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "lab":
        from milink_tui.lab.serve import run

        return run(scenario=args.scenario, speed=args.speed, json_line=args.json, state_dir=args.state_dir)
    if args.command == "dashboard":
        from milink_tui.launch import run_dashboard

        return run_dashboard(lab=args.lab, replay=args.replay, speed=args.speed, interval=args.interval)
    from milink_tui.launch import run_app

    return run_app(lab=args.lab, scenario=args.scenario)


if __name__ == "__main__":
    sys.exit(main())
