"""``kilonova user|project|role ...``: manage the builtin identity store.

Operator commands, like ``kilonova db upgrade``: they work on the compute database
named by the configuration, so they also serve to bootstrap a cloud before any
admin can log in.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from typing import TYPE_CHECKING

from common.auth import ALL_ROLES
from common.errors import ControlPlaneError
from common.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

COMMANDS = ("user", "project", "role", "agent")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="builtin identity: users").add_subparsers(
        dest="action", required=True)
    create = user.add_parser("create", help="create a user")
    create.add_argument("name")
    create.add_argument("--password", help="default: prompt (or generate with --generate)")
    create.add_argument("--generate", action="store_true", help="generate and print one")
    create.add_argument("--project", help="grant --role on this project")
    create.add_argument("--role", default="member", choices=ALL_ROLES)
    user.add_parser("list", help="list users")
    for action in ("delete", "set-password"):
        parser = user.add_parser(action, help=f"{action} a user")
        parser.add_argument("name")
        if action == "set-password":
            parser.add_argument("--password", help="default: prompt")
    project = sub.add_parser("project", help="builtin identity: projects").add_subparsers(
        dest="action", required=True)
    pcreate = project.add_parser("create", help="create a project")
    pcreate.add_argument("name")
    pcreate.add_argument("--description")
    project.add_parser("list", help="list projects")
    project.add_parser("delete", help="delete a project").add_argument("name")
    role = sub.add_parser("role", help="builtin identity: role assignments").add_subparsers(
        dest="action", required=True)
    for action in ("add", "remove"):
        parser = role.add_parser(action, help=f"{action} a role assignment")
        parser.add_argument("role", choices=ALL_ROLES)
        parser.add_argument("--user", required=True)
        parser.add_argument("--project", required=True)
    role.add_parser("list", help="list role assignments")
    agent = sub.add_parser("agent", help="builtin identity: compute agents' credentials"
                           ).add_subparsers(dest="action", required=True)
    cred = agent.add_parser(
        "credential", help="create (or reset) a compute agent's own service user, bound "
        "to its hosts, and print its [agent_auth] section")
    cred.add_argument("hosts", nargs="+", metavar="HOST",
                      help="the hosts it may act for (a simulated-hosts process: each one)")
    cred.add_argument("--user", help="its user name (default: compute-<first HOST>)")


def _password(given: str | None, generate: bool = False) -> str:
    if given:
        return given
    if generate:
        secret = secrets.token_urlsafe(12)
        print(f"generated password: {secret}")
        return secret
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ControlPlaneError("the passwords differ")
    return first


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out one identity command. Returns the exit status."""
    # Imported here: every kilonova command builds this module's parsers, and a service
    # process need not load the identity store.
    from common.db import check_at_head, create_engine, session_factory, transaction

    engine = create_engine(settings.compute_db_url, settings.database.pool_size)
    try:
        check_at_head("compute", engine)
        with transaction(session_factory(engine)) as session:
            _dispatch(session, args)
        return 0
    except ControlPlaneError as exc:
        print(f"kilonova: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _dispatch(session: Session, args: argparse.Namespace) -> None:
    from compute_api.identity import store

    key = (args.command, args.action)
    if key == ("user", "create"):
        user = store.create_user(session, args.name, _password(args.password, args.generate))
        if args.project:
            store.assign_role(session, user, store.find_project(session, args.project),
                              args.role)
        print(f"created user {user.name} ({user.id})")
    elif key == ("user", "list"):
        for user in store.list_users(session):
            print(f"{user.id}  {user.name}{'' if user.enabled else '  (disabled)'}")
    elif key == ("user", "delete"):
        store.delete_user(session, store.find_user(session, args.name))
    elif key == ("user", "set-password"):
        store.set_password(store.find_user(session, args.name), _password(args.password))
    elif key == ("project", "create"):
        project = store.create_project(session, args.name, args.description)
        print(f"created project {project.name} ({project.id})")
    elif key == ("project", "list"):
        for project in store.list_projects(session):
            print(f"{project.id}  {project.name}")
    elif key == ("project", "delete"):
        store.delete_project(session, store.find_project(session, args.name))
    elif key[0] == "role" and args.action in ("add", "remove"):
        change = store.assign_role if args.action == "add" else store.remove_role
        change(session, store.find_user(session, args.user),
               store.find_project(session, args.project), args.role)
    elif key == ("agent", "credential"):
        name = args.user or f"compute-{args.hosts[0]}"
        password = secrets.token_urlsafe(24)
        store.agent_credential(session, name, args.hosts, password)
        print(f"# the [agent_auth] section of {', '.join(args.hosts)}'s configuration; "
              "the password is shown only now")
        print(f'[agent_auth]\nusername = "{name}"\npassword = "{password}"')
    elif key == ("role", "list"):
        for grant in store.list_assignments(session):
            print(f"{grant.role:8}  user {grant.user_id}  project {grant.project_id}")
