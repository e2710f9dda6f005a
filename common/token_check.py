"""Builtin tokens checked against the identity records, so revocation is immediate.

A builtin token is signed (``common.auth.TokenSigner``), but a valid signature alone
would let a token outlive its user, its user's roles or an explicit revocation until it
expires. As Keystone does with Fernet tokens, every check therefore re-reads what the
token stands for: the user exists and is enabled, the token was issued after the user's
last revoke-all (password change, disable), its audit id is not revoked, and the roles
are the ones the user holds on the project *now*.

Only the services' own tokens (method ``service``, minted by processes that hold the
signing key: API, conductor, scheduler, placement) skip the lookup; compute agents do
not hold the key and authenticate with a credential of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from common.auth import (
    ALL_ROLES,
    SERVICE_USER,
    TokenData,
    TokenSigner,
    expand_roles,
)
from common.compute_db.models import IdentityProject, IdentityUser, RevokedToken, RoleAssignment
from common.context import RequestContext, new_request_id
from common.errors import ServiceUnavailable, Unauthorized
from common.transient import is_transient

UNAUTHORIZED = "The request you have made requires authentication."


def _epoch(value: datetime) -> float:
    return value.replace(tzinfo=UTC).timestamp()


class BuiltinTokens:
    """Checks builtin tokens: the signature, then the identity records (see module doc)."""

    def __init__(self, signer: TokenSigner, sessions: sessionmaker[Session]) -> None:
        self.signer = signer
        self._sessions = sessions

    def context(self, token: str, request_id: str) -> RequestContext:
        """The caller of ``token`` as of now. Raises Unauthorized."""
        data = self.signer.verify(token)
        if data.methods == ("service",) and data.user_id == SERVICE_USER:
            return RequestContext(user_id=data.user_id, project_id=data.project_id,
                                  roles=expand_roles(data.roles),
                                  request_id=request_id or new_request_id())
        roles, hosts = self.current(data)
        return RequestContext(user_id=data.user_id, project_id=data.project_id,
                              roles=expand_roles(roles), service_hosts=hosts,
                              request_id=request_id or new_request_id())

    def current(self, data: TokenData) -> tuple[tuple[str, ...], frozenset[str] | None]:
        """The roles the token's user holds now, and the hosts a host-bound credential may
        act for. Raises Unauthorized if the token was revoked in any way,
        ServiceUnavailable if the identity records cannot be read for now."""
        try:
            return self._current(data)
        except sa_exc.SQLAlchemyError as exc:
            if not is_transient(exc):
                raise
            raise ServiceUnavailable("The identity records are unavailable for the moment; "
                                     "try again later.") from exc

    def _current(self, data: TokenData) -> tuple[tuple[str, ...], frozenset[str] | None]:
        with self._sessions() as session:
            row = session.execute(
                sa.select(IdentityUser.enabled, IdentityUser.tokens_valid_after,
                          IdentityUser.service_hosts, IdentityProject.enabled,
                          sa.select(RevokedToken.audit_id)
                          .where(RevokedToken.audit_id == data.audit_id)
                          .scalar_subquery())
                .select_from(IdentityUser)
                .join(IdentityProject, IdentityProject.id == data.project_id)
                .where(IdentityUser.id == data.user_id)).one_or_none()
            if row is None:
                raise Unauthorized(UNAUTHORIZED)  # user or project deleted
            user_enabled, valid_after, hosts, project_enabled, revoked = row
            if not user_enabled or not project_enabled or revoked is not None:
                raise Unauthorized(UNAUTHORIZED)
            if valid_after is not None and data.issued_at < _epoch(valid_after):
                raise Unauthorized(UNAUTHORIZED)
            held = set(session.scalars(sa.select(RoleAssignment.role).where(
                RoleAssignment.user_id == data.user_id,
                RoleAssignment.project_id == data.project_id)).all())
        roles = tuple(r for r in ALL_ROLES if r in held)
        if not roles:
            raise Unauthorized(UNAUTHORIZED)  # every role on the project was removed
        return roles, None if hosts is None else frozenset(hosts)
