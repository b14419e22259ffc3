"""``repwatch users``: exact messages, prompts and what ends up in the database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from repwatch import auth
from repwatch.cli import main
from repwatch.config import Auth, load_config
from repwatch.store import open_database
from tests.conftest import write_config

PASSWORD = "correct horse battery"


@pytest.fixture
def config_path(tmp_path):
    return str(write_config(tmp_path).path)


def _run(config_path, *args, input=None):
    return CliRunner().invoke(
        main, ["users", *args, "--config", config_path], input=input, catch_exceptions=False
    )


def _sign_in(config_path, username, password):
    engine = open_database(load_config(config_path).database_url)
    try:
        return auth.sign_in(engine, username, password, Auth())
    finally:
        engine.dispose()


def test_add_asks_twice_and_the_user_can_sign_in(config_path):
    result = _run(
        config_path,
        "add",
        "Ana",
        "--role",
        "admin",
        "--display-name",
        "Ana Lima",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Password: \nRepeat the password: \n"
        "Added admin 'ana'. They can sign in to the dashboard now.\n"
    )
    assert PASSWORD not in result.output  # hide_input: nothing echoed
    user = _sign_in(config_path, "ana", PASSWORD)
    assert (user.username, user.display_name, user.role) == ("ana", "Ana Lima", "admin")


def test_add_with_mismatched_passwords_asks_again(config_path):
    result = _run(
        config_path,
        "add",
        "ana",
        "--role",
        "agent",
        input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.output
    assert _sign_in(config_path, "ana", PASSWORD).role == "agent"


def test_add_an_existing_user_says_how_to_change_the_password(config_path):
    _run(config_path, "add", "ana", "--role", "agent", "--password-stdin", input=PASSWORD)
    result = _run(config_path, "add", "ana", "--role", "admin", "--password-stdin", input="x" * 9)
    assert result.exit_code == 1
    assert result.output == (
        "Error: User 'ana' already exists. Use 'repwatch users passwd ana' to change the "
        "password.\n"
    )
    assert _sign_in(config_path, "ana", PASSWORD).role == "agent"  # unchanged


def test_short_password_and_bad_username_are_refused(config_path):
    result = _run(config_path, "add", "ana", "--role", "agent", "--password-stdin", input="short")
    assert result.exit_code == 1
    assert result.output == ("Error: The password is too short: use at least 8 characters.\n")
    result = _run(config_path, "add", "ana lima", "--role", "agent", "--password-stdin")
    assert result.output == (
        "Error: 'ana lima' cannot be a username: use 1 to 255 characters without spaces, "
        "e.g. ana or ana@example.com.\n"
    )
    result = _run(config_path, "add", "ana", "--role", "boss", "--password-stdin")
    assert result.exit_code == 2
    assert "'boss' is not one of 'viewer', 'agent', 'admin'" in result.output


def test_passwd_role_list_remove(config_path):
    _run(config_path, "add", "root", "--role", "admin", "--password-stdin", input=PASSWORD)
    _run(config_path, "add", "ana", "--role", "viewer", "--password-stdin", input=PASSWORD)

    result = _run(config_path, "passwd", "ana", "--password-stdin", input="a new password\n")
    assert result.output == "Changed the password of 'ana'.\n"
    assert _sign_in(config_path, "ana", "a new password").username == "ana"

    assert _run(config_path, "role", "ana", "agent").output == "'ana' is now agent.\n"
    result = _run(config_path, "role", "root", "viewer")
    assert result.exit_code == 1
    assert result.output == (
        "Error: 'root' is the only admin who can sign in. Make another user an admin first: "
        "repwatch users role NAME admin\n"
    )

    assert _run(config_path, "list").output == (
        "USERNAME  ROLE   SIGN-IN   STATUS  NAME\n"
        "ana       agent  password  active\n"
        "root      admin  password  active\n"
    )
    assert _run(config_path, "remove", "ana").output == "Removed 'ana'.\n"
    result = _run(config_path, "remove", "ana")
    assert result.exit_code == 1
    assert result.output == "Error: No user 'ana'. See the users with: repwatch users list\n"
    result = _run(config_path, "passwd", "bob", "--password-stdin", input=PASSWORD)
    assert result.output == "Error: No user 'bob'. See the users with: repwatch users list\n"


def test_list_without_users_says_how_to_add_the_first_admin(config_path):
    assert _run(config_path, "list").output == (
        "No users yet. Add the first admin with: repwatch users add NAME --role admin\n"
    )


def test_empty_password_on_stdin(config_path):
    result = _run(config_path, "add", "ana", "--role", "agent", "--password-stdin", input="\n")
    assert result.exit_code == 1
    assert result.output == "Error: No password on stdin: pipe it in, e.g. from a file.\n"


def test_users_help_is_listed():
    result = CliRunner().invoke(main, ["--help"])
    assert "  users " in result.output
    result = CliRunner().invoke(main, ["users", "--help"])
    for command in ("add", "list", "passwd", "remove", "role"):
        assert f"  {command} " in result.output
