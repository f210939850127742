"""``tamin-bot``: the one command of the product.

Subcommands are registered in :func:`build_parser`; each imports its layer lazily so that
``tamin-bot --help`` stays fast and nothing is constructed at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from app.log_setup import configure_logging
from services.settings import load_settings


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from demo import run_demo_data

    settings = load_settings(args.config)
    return asyncio.run(run_demo_data(settings, people=args.people))


def _cmd_run(args: argparse.Namespace) -> int:
    from app.run import run
    from services.knowledge import KnowledgeBaseError

    settings = load_settings(args.config)
    try:
        return asyncio.run(run(settings))
    except KnowledgeBaseError as error:
        # The whole list of bad files at once, without a traceback: the fix is in the folder.
        print(f"tamin-bot: not started: {error}", file=sys.stderr)
        return 2


def _cmd_role(args: argparse.Namespace) -> int:
    from app.roles import RoleRefused, SchemaNotAtHead, run_role
    from services.knowledge import KnowledgeBaseError

    settings = load_settings(args.config)
    try:
        return asyncio.run(run_role(args.command, settings))
    except (RoleRefused, SchemaNotAtHead, KnowledgeBaseError) as error:
        # What to do is in the message: no traceback.
        print(f"tamin-bot {args.command}: not started: {error}", file=sys.stderr)
        return 2


def _cmd_agents(args: argparse.Namespace) -> int:
    from console.cli import run_agents_command

    settings = load_settings(args.config)
    return asyncio.run(run_agents_command(settings, args))


def _cmd_scheduler(args: argparse.Namespace) -> int:
    from app.scheduler import main as scheduler_main
    from services.db.migrate import SchemaNotAtHead

    try:
        return scheduler_main(load_settings(args.config), once=args.once)
    except SchemaNotAtHead as error:
        # What to do is in the message: no traceback.
        print(f"tamin-bot scheduler: not started: {error}", file=sys.stderr)
        return 2


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.__main__ import main as sandbox_main
    from sandbox.__main__ import port_from_env

    section = load_settings(args.config).config.sandbox
    host = args.host or section.host
    # --port, else $SANDBOX_PORT or $PORT, else config.yml's sandbox.port (a free one if taken).
    port = args.port if args.port is not None else port_from_env(section.port)
    return sandbox_main(["--host", host, "--port", str(port), *(["--echo"] if args.echo else [])])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tamin-bot", description="دستیار تأمین اجتماعی")
    parser.add_argument("--config", default=None, help="path of config.yml")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo-data", help="create the tables and load the demo personas")
    demo.add_argument("--people", type=int, default=0, help="synthetic people to add")
    demo.set_defaults(func=_cmd_demo_data)

    run = sub.add_parser("run", help="run the assistant (sandbox when there is no token)")
    run.set_defaults(func=_cmd_run)

    # The same parts as `run`, one per process, in any number (app/roles.py).
    for name, what in (
        ("webhook", "serve webhook updates only (a stateless worker; several may run)"),
        ("console", "serve the agents' console only on HOST:PORT"),
        ("sender", "deliver the outbox only (several may run: leases keep each message single)"),
        ("migrate", "upgrade the database schema to this version's head, then exit"),
    ):
        role = sub.add_parser(name, help=what)
        role.set_defaults(func=_cmd_role)

    agents = sub.add_parser("agents", help="manage 1420 console accounts (add, list, passwd…)")
    from console.cli import add_arguments as add_agents_arguments

    add_agents_arguments(agents)
    agents.set_defaults(func=_cmd_agents)

    scheduler = sub.add_parser(
        "scheduler", help="plan and release the proactive notices (safe to run several)"
    )
    scheduler.add_argument("--once", action="store_true", help="one round, then exit")
    scheduler.set_defaults(func=_cmd_scheduler)

    box = sub.add_parser("sandbox", help="serve only the local Bot API sandbox and its web chat")
    box.add_argument("--host", default=None, help="default: config.yml's sandbox.host")
    box.add_argument(
        "--port", type=int, default=None, help="default: $SANDBOX_PORT, $PORT, sandbox.port"
    )
    box.add_argument("--echo", action="store_true", help="also run the minimal echo bot")
    box.set_defaults(func=_cmd_sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Scrubbed from the first line on: every command may log what a user or agent typed.
    configure_logging()
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
