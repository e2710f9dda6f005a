"""Users, projects and role assignments of the builtin identity service."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from common.auth import ALL_ROLES, SERVICE_PROJECT, SERVICE_USER
from common.compute_db.models import (
    IdentityProject,
    IdentityUser,
    RevokedToken,
    RoleAssignment,
)
from common.db import transaction, utcnow
from common.errors import BadRequest, Conflict, NotFound, Unauthorized
from compute_api.identity.passwords import hash_password

DEFAULT_DOMAIN = "default"
DOMAIN_NAMES = {DEFAULT_DOMAIN: "Default"}


def new_id() -> str:
    return uuid.uuid4().hex


def role_id(name: str) -> str:
    """Roles are fixed (reader, member, admin); their ids are derived from their names."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"kilonova:role:{name}").hex


def check_role(name: str) -> str:
    if name not in ALL_ROLES:
        raise BadRequest(f"Unknown role {name!r}: roles are {', '.join(ALL_ROLES)}")
    return name


def domain_of(ref: dict[str, object] | None) -> str:
    """The domain id a ``{"id": ...}`` or ``{"name": ...}`` reference names."""
    if not ref:
        return DEFAULT_DOMAIN
    if ref.get("id") == DEFAULT_DOMAIN or str(ref.get("name", "")).lower() == "default":
        return DEFAULT_DOMAIN
    raise Unauthorized("Could not find domain: only the Default domain exists.")


def create_project(session: Session, name: str, description: str | None = None,
                   project_id: str | None = None) -> IdentityProject:
    project = IdentityProject(id=project_id or new_id(), name=name, description=description)
    try:
        with session.begin_nested():
            session.add(project)
    except IntegrityError:
        raise Conflict(f"Conflict occurred attempting to store project - Duplicate entry "
                       f"found with name {name}.") from None
    return project


def create_user(session: Session, name: str, password: str | None,
                email: str | None = None, description: str | None = None) -> IdentityUser:
    user = IdentityUser(id=new_id(), name=name, email=email, description=description,
                        password_hash=hash_password(password) if password else None)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise Conflict(f"Conflict occurred attempting to store user - Duplicate entry found "
                       f"with name {name}.") from None
    return user


def set_password(user: IdentityUser, password: str) -> None:
    """A new password; the user's earlier tokens stop working and any lockout ends."""
    user.password_hash = hash_password(password)
    revoke_user_tokens(user)
    user.failed_logins = 0
    user.locked_until = None


def update_user(user: IdentityUser, spec: dict[str, object]) -> None:
    """Apply a Keystone user PATCH; a new password or disabling voids earlier tokens.
    Raises BadRequest."""
    for key in ("name", "email", "description"):
        if key in spec:
            value = spec[key]
            if key == "name" and (not isinstance(value, str) or not 1 <= len(value) <= 255):
                raise BadRequest("Invalid input for field 'name': a 1-255 character string.")
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"Invalid input for field '{key}': a string.")
            setattr(user, key, value)
    if "enabled" in spec:
        if not isinstance(spec["enabled"], bool):
            raise BadRequest("Invalid input for field 'enabled': a boolean.")
        if not spec["enabled"]:
            revoke_user_tokens(user)
        user.enabled = spec["enabled"]
    if "password" in spec:
        if not isinstance(spec["password"], str) or not spec["password"]:
            raise BadRequest("Invalid input for field 'password': a non-empty string.")
        set_password(user, spec["password"])


def revoke_user_tokens(user: IdentityUser) -> None:
    """Void every token issued to ``user`` until now."""
    user.tokens_valid_after = utcnow()


def revoke_token(session: Session, audit_id: str, expires_at: float | None) -> None:
    """Void one token (by its audit id) before it expires; revoking twice is harmless."""
    if session.get(RevokedToken, audit_id) is None:
        session.add(RevokedToken(
            audit_id=audit_id,
            expires_at=None if expires_at is None else
            datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None)))
    # Rows of tokens that expired anyway are no longer needed.
    session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    session.flush()


def agent_credential(session: Session, name: str, hosts: Sequence[str],
                     password: str) -> IdentityUser:
    """Create or reset a compute agent's service user: the service role on the service
    project, bound to ``hosts`` (placement lets it touch only those hosts' providers)."""
    try:
        project = find_project(session, SERVICE_PROJECT)
    except NotFound:
        project = create_project(session, SERVICE_PROJECT, "Service users of the cloud")
    try:
        user = find_user(session, name)
        set_password(user, password)
    except NotFound:
        user = create_user(session, name, password, description="compute agent")
    user.service_hosts = sorted(set(hosts))
    assign_role(session, user, project, "service")
    session.flush()
    return user


def find_user(session: Session, ref: str, domain_id: str = DEFAULT_DOMAIN) -> IdentityUser:
    """A user by id, else by name. Raises NotFound."""
    user = session.get(IdentityUser, ref) or session.scalar(
        sa.select(IdentityUser).where(IdentityUser.name == ref,
                                      IdentityUser.domain_id == domain_id))
    if user is None:
        raise NotFound(f"Could not find user: {ref}.")
    return user


def find_project(session: Session, ref: str, domain_id: str = DEFAULT_DOMAIN
                 ) -> IdentityProject:
    """A project by id, else by name. Raises NotFound."""
    project = session.get(IdentityProject, ref) or session.scalar(
        sa.select(IdentityProject).where(IdentityProject.name == ref,
                                         IdentityProject.domain_id == domain_id))
    if project is None:
        raise NotFound(f"Could not find project: {ref}.")
    return project


def list_users(session: Session, name: str | None = None) -> Sequence[IdentityUser]:
    stmt = sa.select(IdentityUser).order_by(IdentityUser.name)
    if name is not None:
        stmt = stmt.where(IdentityUser.name == name)
    return session.scalars(stmt).all()


def list_projects(session: Session, name: str | None = None,
                  user_id: str | None = None) -> Sequence[IdentityProject]:
    stmt = sa.select(IdentityProject).order_by(IdentityProject.name)
    if name is not None:
        stmt = stmt.where(IdentityProject.name == name)
    if user_id is not None:
        stmt = stmt.where(IdentityProject.id.in_(
            sa.select(RoleAssignment.project_id).where(RoleAssignment.user_id == user_id)))
    return session.scalars(stmt).all()


def assign_role(session: Session, user: IdentityUser, project: IdentityProject,
                role: str) -> None:
    """Grant ``role`` on ``project``; granting it twice is harmless."""
    check_role(role)
    exists = session.scalar(sa.select(RoleAssignment.id).where(
        RoleAssignment.user_id == user.id, RoleAssignment.project_id == project.id,
        RoleAssignment.role == role))
    if exists is None:
        session.add(RoleAssignment(user_id=user.id, project_id=project.id, role=role))
        session.flush()


def remove_role(session: Session, user: IdentityUser, project: IdentityProject,
                role: str) -> None:
    result = session.execute(sa.delete(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.project_id == project.id,
        RoleAssignment.role == check_role(role)))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"Could not find role assignment: {role} for {user.name} on "
                       f"{project.name}.")


def roles_on(session: Session, user_id: str, project_id: str) -> tuple[str, ...]:
    names = set(session.scalars(sa.select(RoleAssignment.role).where(
        RoleAssignment.user_id == user_id, RoleAssignment.project_id == project_id)).all())
    return tuple(r for r in ALL_ROLES if r in names)


def list_assignments(session: Session) -> Sequence[RoleAssignment]:
    return session.scalars(sa.select(RoleAssignment).order_by(RoleAssignment.id)).all()


def delete_user(session: Session, user: IdentityUser) -> None:
    session.execute(sa.delete(RoleAssignment).where(RoleAssignment.user_id == user.id))
    session.delete(user)
    session.flush()


def delete_project(session: Session, project: IdentityProject) -> None:
    session.execute(sa.delete(RoleAssignment).where(RoleAssignment.project_id == project.id))
    session.delete(project)
    session.flush()


@dataclass
class Bootstrapped:
    user: IdentityUser
    project: IdentityProject
    password: str | None  # set when it was generated here and must be shown once


def bootstrap(session: Session, user_name: str, project_name: str,
              password: str | None) -> Bootstrapped:
    """Make sure the admin user and project exist with the admin role (idempotent).

    A configured password is (re)applied; without one, a new user gets a generated
    password, returned so the caller can show it once.
    """
    generated = None
    try:
        project = find_project(session, project_name)
    except NotFound:
        project = create_project(session, project_name, "Bootstrap admin project")
    try:
        user = find_user(session, user_name)
        if password:
            set_password(user, password)
    except NotFound:
        generated = None if password else secrets.token_urlsafe(12)
        user = create_user(session, user_name, password or generated)
    assign_role(session, user, project, "admin")
    return Bootstrapped(user, project, generated)


def scope_project(session: Session, user: IdentityUser, scope: dict[str, object] | None
                  ) -> tuple[IdentityProject, tuple[str, ...]]:
    """The project a token is scoped to and the user's roles on it. Raises Unauthorized.

    Without a scope the user's first project (by name) is used: every token here is
    project-scoped.
    """
    project: IdentityProject | None
    if scope and isinstance(scope.get("project"), dict):
        ref: dict[str, object] = scope["project"]  # type: ignore[assignment]
        if ref.get("id"):
            project = session.get(IdentityProject, str(ref["id"]))
        else:
            domain = domain_of(ref.get("domain"))  # type: ignore[arg-type]
            project = session.scalar(sa.select(IdentityProject).where(
                IdentityProject.name == str(ref.get("name")),
                IdentityProject.domain_id == domain))
    elif scope:
        raise Unauthorized("Only project-scoped tokens are supported.")
    else:
        mine = list_projects(session, user_id=user.id)
        project = mine[0] if mine else None
    if project is None or not project.enabled:
        raise Unauthorized(f"User {user.id} has no access to the requested project.")
    roles = roles_on(session, user.id, project.id)
    if not roles:
        raise Unauthorized(f"User {user.id} has no access to project {project.id}.")
    return project, roles


def service_identity() -> tuple[str, str]:
    return SERVICE_USER, SERVICE_PROJECT


def bootstrap_admin(sessions: sessionmaker[Session], user_name: str, project_name: str,
                    password: str | None) -> str | None:
    """``bootstrap`` in its own transaction; returns a generated password, if any."""
    with transaction(sessions) as session:
        return bootstrap(session, user_name, project_name, password).password
