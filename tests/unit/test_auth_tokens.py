"""Builtin tokens and password hashes."""

from __future__ import annotations

import pytest

from common.auth import TokenSigner, context_from_token, expand_roles
from common.errors import Unauthorized
from compute_api.identity.passwords import check_password, hash_password


def test_token_round_trip_carries_scope_and_implied_roles() -> None:
    signer = TokenSigner(b"k" * 64)
    token, data = signer.issue("u1", "p1", ("member",), 60)
    ctx = context_from_token(token, signer, "req-1")
    assert (ctx.user_id, ctx.project_id, ctx.request_id) == ("u1", "p1", "req-1")
    assert ctx.roles == ("member", "reader")
    assert not ctx.is_admin
    assert data.expires_at is not None and data.expires_at > data.issued_at


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.replace("kn1.", "kn2.", 1),
    lambda t: "garbage",
    lambda t: "",
], ids=["bad signature", "bad prefix", "garbage", "empty"])
def test_tampered_tokens_are_unauthorized(mangle: object) -> None:
    signer = TokenSigner(b"k" * 64)
    token, _ = signer.issue("u1", "p1", ("admin",), 60)
    with pytest.raises(Unauthorized):
        context_from_token(mangle(token), signer)  # type: ignore[operator]


def test_expired_token_is_unauthorized() -> None:
    signer = TokenSigner(b"k" * 64)
    token, _ = signer.issue("u1", "p1", ("admin",), ttl=-1)
    with pytest.raises(Unauthorized, match="expired"):
        signer.verify(token)


def test_noauth_still_works_as_before() -> None:
    ctx = context_from_token("admin:admin", "noauth")
    assert ctx.is_admin and ctx.project_id == "admin"
    assert context_from_token("bob:p", "noauth").roles == ("member", "reader")
    with pytest.raises(Unauthorized):
        context_from_token("bob:", "noauth")


def test_noauth_takes_upstream_noauth2_tokens_and_headers() -> None:
    plain = context_from_token("bob", "noauth")
    assert (plain.user_id, plain.project_id, plain.roles) == ("bob", "bob", ())
    assert context_from_token("admin", "noauth").roles == ("admin",)
    headers = {"x-roles": "reader, member", "x-project-id": "p1"}
    ctx = context_from_token("bob", "noauth", headers=headers)
    assert (ctx.project_id, ctx.roles, ctx.system_scope) == ("p1", ("reader", "member"), None)
    system = context_from_token("bob", "noauth", headers={"openstack-system-scope": "all"})
    assert (system.project_id, system.system_scope) == (None, "all")


def test_expand_roles() -> None:
    assert expand_roles(["admin"]) == ("admin", "member", "reader")
    assert expand_roles(["reader"]) == ("reader",)
    assert expand_roles([]) == ()


def test_password_hashes_check_and_do_not_repeat() -> None:
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and first.startswith("scrypt$")
    assert check_password("s3cret", first)
    assert not check_password("wrong", first)
    assert not check_password("s3cret", None)
    assert not check_password("s3cret", "md5$abc")
