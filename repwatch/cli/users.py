"""``repwatch users``: dashboard users, their passwords and roles."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import Engine

from repwatch import auth
from repwatch.auth import ROLES
from repwatch.cli.options import config_option, friendly
from repwatch.config import Role, load_config
from repwatch.store import open_database

CLI_ACTOR = "command line"
role_argument = click.Choice(ROLES, case_sensitive=False)


@contextmanager
def _engine(config_path: Path) -> Iterator[Engine]:
    engine = open_database(load_config(config_path).database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _password(password_stdin: bool) -> str:
    """The new password: one line from stdin, or asked twice without echo."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("No password on stdin: pipe it in, e.g. from a file.")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password"))


password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of asking for it.",
)


@click.group()
def users() -> None:
    """Manage who may sign in to the dashboard, and with which role.

    Roles: viewer (reads), agent (acts on triage items), admin (also manages users).
    """


@users.command("add")
@click.argument("username")
@click.option("--role", type=role_argument, required=True, help="viewer, agent or admin.")
@click.option("--display-name", help="The name shown in the dashboard and the item logs.")
@password_stdin_option
@config_option
@friendly
def add(
    username: str, role: Role, display_name: str | None, password_stdin: bool, config_path: Path
) -> None:
    """Add a user who signs in with a password (asked twice, never shown).

    Example: repwatch users add ana --role admin --display-name "Ana Lima"
    """
    with _engine(config_path) as engine:
        name = auth.valid_username(username)
        if auth.get_account(engine, name) is not None:
            raise click.ClickException(
                f"User {name!r} already exists. Use 'repwatch users passwd {name}' to change "
                "the password."
            )
        account = auth.add_user(
            engine, name, _password(password_stdin), role=role, display_name=display_name
        )
    click.echo(f"Added {account.role} {account.username!r}. They can sign in to the dashboard now.")


@users.command("passwd")
@click.argument("username")
@password_stdin_option
@config_option
@friendly
def passwd(username: str, password_stdin: bool, config_path: Path) -> None:
    """Set a new password for a user.

    Example: repwatch users passwd ana
    """
    with _engine(config_path) as engine:
        account = auth.get_account(engine, username)
        if account is None:
            raise auth.UnknownUser(
                f"No user {auth.normalise_username(username)!r}. "
                "See the users with: repwatch users list"
            )
        auth.set_password(engine, account.username, _password(password_stdin))
    click.echo(f"Changed the password of {account.username!r}.")


@users.command("remove")
@click.argument("username")
@config_option
@friendly
def remove(username: str, config_path: Path) -> None:
    """Remove a user. What they did stays in the item logs under their name.

    Example: repwatch users remove ana
    """
    with _engine(config_path) as engine:
        auth.remove_user(engine, username, actor=CLI_ACTOR)
    click.echo(f"Removed {auth.normalise_username(username)!r}.")


@users.command("role")
@click.argument("username")
@click.argument("role", type=role_argument)
@config_option
@friendly
def role(username: str, role: Role, config_path: Path) -> None:
    """Change the role of a user: viewer, agent or admin.

    Example: repwatch users role ana agent
    """
    with _engine(config_path) as engine:
        account = auth.set_role(engine, username, role, actor=CLI_ACTOR)
    click.echo(f"{account.username!r} is now {role}.")


@users.command("list")
@config_option
@friendly
def list_(config_path: Path) -> None:
    """List the users, their roles and how they sign in.

    Example: repwatch users list
    """
    with _engine(config_path) as engine:
        accounts = auth.list_accounts(engine)
    if not accounts:
        click.echo("No users yet. Add the first admin with: repwatch users add NAME --role admin")
        return
    rows = [
        (
            a.username,
            a.role or "(no role yet)",
            "single sign-on" if a.oidc_subject else "password",
            "disabled" if a.disabled else "active",
            a.display_name or "",
        )
        for a in accounts
    ]
    header = ("USERNAME", "ROLE", "SIGN-IN", "STATUS", "NAME")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())
