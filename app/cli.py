"""``tamin-bot``: the one command of the product.

Subcommands are registered in :func:`build_parser`; each imports its layer lazily so that
``tamin-bot --help`` stays fast and nothing is constructed at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from services.settings import load_settings


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from services.demo import run_demo_data

    settings = load_settings(args.config)
    return asyncio.run(run_demo_data(settings, people=args.people))


def _cmd_run(args: argparse.Namespace) -> int:
    from app.run import run

    settings = load_settings(args.config)
    return asyncio.run(run(settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tamin-bot", description="دستیار تأمین اجتماعی")
    parser.add_argument("--config", default=None, help="path of config.yml")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo-data", help="create the tables and load the demo personas")
    demo.add_argument("--people", type=int, default=0, help="synthetic people to add")
    demo.set_defaults(func=_cmd_demo_data)

    run = sub.add_parser("run", help="run the assistant (sandbox when there is no token)")
    run.set_defaults(func=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
