"""``tamin-bot agents …``: manage console accounts from the shell (add, list, passwd, disable).

Passwords are read with ``getpass`` (asked twice) or, for scripts, from one line of standard
input with ``--password-stdin``; never from the command line, where ``ps`` would show them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.settings import Settings

# Kept light: ``tamin-bot --help`` builds this parser, so the database layer is imported only
# when a command runs.
ROLES = ("agent", "supervisor")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``agents`` sub-subcommands on ``parser``."""
    sub = parser.add_subparsers(dest="agents_command", required=True)
    add = sub.add_parser("add", help="create a console account")
    add.add_argument("username", help="login name (Latin letters, digits, . _ -)")
    add.add_argument("--name", required=True, help="display name, e.g. «سارا احمدی»")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    sub.add_parser("list", help="list console accounts")
    passwd = sub.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    for name, text in (("disable", "disable an account"), ("enable", "enable an account")):
        toggle = sub.add_parser(name, help=text)
        toggle.add_argument("username")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise SystemExit("The passwords differ; nothing changed.")
    return first


async def run_agents_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run one ``agents`` subcommand; return the exit code."""
    from services.agents import AgentService
    from services.clock import product_clock
    from services.db import create_engine, create_session_factory, upgrade_database
    from services.errors import DomainError

    await upgrade_database(settings)
    engine = create_engine(settings)
    try:
        # The command is this session's unit of work: committed when it ends.
        async with create_session_factory(engine)() as session, session.begin():
            agents = AgentService(session, settings, product_clock(settings))
            command = args.agents_command
            try:
                if command == "add":
                    agent = await agents.create(
                        username=args.username,
                        display_name=args.name,
                        password=_password(args.password_stdin),
                        role=args.role,
                        actor="cli",
                    )
                    print(f"Created {agent.role.value} '{agent.username}' ({agent.display_name}).")
                elif command == "list":
                    for presence in await agents.list_agents():
                        a = presence.agent
                        state = (
                            "disabled"
                            if not a.is_active
                            else ("online" if presence.online else "offline")
                        )
                        print(f"{a.username:24} {a.role.value:10} {state:8} {a.display_name}")
                else:
                    found = await agents.by_username(args.username)
                    if found is None:
                        print(f"No account '{args.username}'.", file=sys.stderr)
                        return 1
                    if command == "passwd":
                        await agents.set_password(
                            found.id, _password(args.password_stdin), actor="cli"
                        )
                        print(f"Password of '{found.username}' changed; its sessions ended.")
                    else:
                        await agents.set_active(found.id, command == "enable", actor="cli")
                        print(f"'{found.username}' {command}d.")
            except DomainError as error:
                detail = getattr(error, "problem", "")
                print(f"Refused: {error.code}{f' ({detail})' if detail else ''}", file=sys.stderr)
                return 1
    finally:
        await engine.dispose()
    return 0
