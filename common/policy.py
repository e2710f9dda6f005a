"""Policy: who may call what, as rules with defaults in code and an optional override file.

The rule language is oslo.policy's: ``role:admin``, ``project_id:%(project_id)s``,
``rule:other``, ``@`` (always), ``!`` (never), ``'public':%(visibility)s``, combined with
``and``, ``or``, ``not`` and parentheses; an empty rule allows everyone. A policy file
(YAML or JSON, ``[auth] policy_file``) maps rule names to rule strings and replaces
those defaults; it is re-read when it changes.

Each HTTP service declares its rules (``RuleDefault``) with the operations they guard;
``RouteTable`` turns those into a (method, path template) lookup so one middleware checks
every request before a handler runs. Finer checks inside a handler (``all_tenants``,
another user's key pairs) call ``allowed()`` / ``authorize()`` with the rule name.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.context import RequestContext
from common.errors import ConfigError, Forbidden

LOG = logging.getLogger(__name__)

Target = Mapping[str, Any]
Creds = Mapping[str, Any]
# How often (seconds) a request may look at the policy file's modification time.
RELOAD_CHECK_INTERVAL = 1.0
_MAX_DEPTH = 32


class PolicyError(ConfigError):
    """A rule that cannot be parsed, or a policy file that cannot be read."""


# --- the rule language -----------------------------------------------------------------


class Check:
    def __call__(self, creds: Creds, target: Target, enforcer: Enforcer, depth: int) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class _Const(Check):
    value: bool

    def __call__(self, creds: Creds, target: Target, enforcer: Enforcer, depth: int) -> bool:
        return self.value


@dataclass(frozen=True)
class _Not(Check):
    inner: Check

    def __call__(self, creds: Creds, target: Target, enforcer: Enforcer, depth: int) -> bool:
        return not self.inner(creds, target, enforcer, depth)


@dataclass(frozen=True)
class _And(Check):
    parts: tuple[Check, ...]

    def __call__(self, creds: Creds, target: Target, enforcer: Enforcer, depth: int) -> bool:
        return all(p(creds, target, enforcer, depth) for p in self.parts)


@dataclass(frozen=True)
class _Or(Check):
    parts: tuple[Check, ...]

    def __call__(self, creds: Creds, target: Target, enforcer: Enforcer, depth: int) -> bool:
        return any(p(creds, target, enforcer, depth) for p in self.parts)


@dataclass(frozen=True)
class _RuleRef(Check):
    name: str

    def __call__(self, creds: Creds, target: Target, enforcer: Enforcer, depth: int) -> bool:
        if depth > _MAX_DEPTH:
            LOG.error("policy rule %s nests too deep (a loop?): denied", self.name)
            return False
        return enforcer.evaluate(self.name, creds, target, depth + 1)


_SUBST = re.compile(r"%\(([^)]+)\)s")


def _substitute(text: str, target: Target) -> str | None:
    """``text`` with ``%(key)s`` replaced from the target; None if a key is missing."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        value = _lookup(target, match.group(1))
        if value is None:
            missing = True
            return ""
        return str(value)

    out = _SUBST.sub(one, text)
    return None if missing else out


def _lookup(data: Mapping[str, Any], key: str) -> Any:
    if key in data:
        return data[key]
    value: Any = data
    for part in key.split("."):  # oslo.policy reads dotted keys into nested targets
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass(frozen=True)
class _RoleCheck(Check):
    match: str

    def __call__(self, creds: Creds, target: Target, enforcer: Enforcer, depth: int) -> bool:
        wanted = _substitute(self.match, target)
        roles = [str(r).lower() for r in creds.get("roles", ())]
        return wanted is not None and wanted.lower() in roles


@dataclass(frozen=True)
class _GenericCheck(Check):
    kind: str
    match: str

    def __call__(self, creds: Creds, target: Target, enforcer: Enforcer, depth: int) -> bool:
        wanted = _substitute(self.match, target)
        if wanted is None:
            return False
        if self.kind[:1] in ("'", '"') and self.kind[-1:] == self.kind[:1]:
            return self.kind[1:-1] == wanted
        have = _lookup(creds, self.kind)
        if have is None:
            return False
        if isinstance(have, list | tuple):
            return wanted in [str(v) for v in have]
        return str(have) == wanted


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for word in text.split():
        core = word.lstrip("(")
        out.extend("(" * (len(word) - len(core)))
        stripped = core.rstrip(")")
        trailing = len(core) - len(stripped)
        # ``%(project_id)s)``: a ")" closing a substitution is part of the check.
        opened = stripped.count("(") - stripped.count(")")
        if opened > 0 and trailing:
            give = min(opened, trailing)
            stripped, trailing = stripped + ")" * give, trailing - give
        if stripped:
            out.append(stripped)
        out.extend(")" * trailing)
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def fail(self, why: str) -> PolicyError:
        return PolicyError(f"invalid policy rule {self.text!r}: {why}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise self.fail("unexpected end")
        self.pos += 1
        return token

    def parse(self) -> Check:
        if not self.tokens:
            return _Const(True)
        check = self.or_expr()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        return check

    def or_expr(self) -> Check:
        parts = [self.and_expr()]
        while self.peek() is not None and self.peek().lower() == "or":  # type: ignore[union-attr]
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else _Or(tuple(parts))

    def and_expr(self) -> Check:
        parts = [self.not_expr()]
        while self.peek() is not None and self.peek().lower() == "and":  # type: ignore[union-attr]
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else _And(tuple(parts))

    def not_expr(self) -> Check:
        token = self.peek()
        if token is not None and token.lower() == "not":
            self.take()
            return _Not(self.not_expr())
        return self.atom()

    def atom(self) -> Check:
        token = self.take()
        if token == "(":
            inner = self.or_expr()
            if self.take() != ")":
                raise self.fail("missing ')'")
            return inner
        if token in (")", "and", "or"):
            raise self.fail(f"unexpected {token!r}")
        return self.check(token)

    def check(self, token: str) -> Check:
        if token == "@":
            return _Const(True)
        if token == "!":
            return _Const(False)
        kind, sep, match = token.partition(":")
        if not sep or not kind:
            raise self.fail(f"{token!r} is not kind:match")
        if kind == "rule":
            return _RuleRef(match)
        if kind == "role":
            return _RoleCheck(match)
        if kind == "http":
            raise self.fail("http: checks are not supported")
        return _GenericCheck(kind, match)


def parse_rule(text: str) -> Check:
    """The check a rule string describes. Raises PolicyError."""
    return _Parser(text).parse()


# --- rules, the enforcer ------------------------------------------------------------------


@dataclass(frozen=True)
class RuleDefault:
    """A rule and its default; ``operations`` are the (method, path) it guards."""

    name: str
    check_str: str
    description: str
    operations: tuple[tuple[str, str], ...] = ()
    # Token scopes the rule accepts ("project", "system"); empty: any scope, unchecked.
    scope_types: tuple[str, ...] = ()


def credentials(ctx: RequestContext) -> dict[str, Any]:
    return {"user_id": ctx.user_id, "project_id": ctx.project_id, "roles": list(ctx.roles),
            "is_admin": ctx.is_admin}


def in_scope(scope_types: tuple[str, ...], ctx: RequestContext) -> bool:
    """Whether the token's scope is one the rule accepts (oslo.policy's enforce_scope)."""
    if not scope_types:
        return True
    return ("system" if ctx.system_scope else "project") in scope_types


class Enforcer:
    """Evaluates named rules: the defaults, replaced by what the policy file says."""

    def __init__(self, defaults: Sequence[RuleDefault], policy_file: str | Path | None = None
                 ) -> None:
        self.defaults = {d.name: d for d in defaults}
        self._default_checks = {d.name: parse_rule(d.check_str) for d in defaults}
        self.policy_file = Path(policy_file) if policy_file else None
        self._overrides: dict[str, Check] = {}
        self._override_text: dict[str, str] = {}
        self._mtime: float | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        if self.policy_file is not None:
            self._load()

    def _load(self) -> None:
        assert self.policy_file is not None
        try:
            stat = self.policy_file.stat()
            text = self.policy_file.read_text()
        except OSError as exc:
            raise PolicyError(f"policy file {self.policy_file}: {exc}") from exc
        data = _parse_file(self.policy_file, text)
        checks = {name: _parse_named(name, rule) for name, rule in data.items()}
        self._overrides, self._override_text = checks, dict(data)
        self._mtime = stat.st_mtime
        LOG.info("policy file %s: %d rules override the defaults", self.policy_file,
                 len(checks))

    def _maybe_reload(self) -> None:
        if self.policy_file is None:
            return
        now = time.monotonic()
        if now - self._checked_at < RELOAD_CHECK_INTERVAL:
            return
        with self._lock:
            self._checked_at = now
            try:
                mtime = self.policy_file.stat().st_mtime
            except OSError:
                LOG.error("policy file %s vanished: keeping the rules read before",
                          self.policy_file)
                return
            if mtime == self._mtime:
                return
            try:
                self._load()
            except PolicyError:
                LOG.exception("policy file %s changed but cannot be used: keeping the "
                              "rules read before", self.policy_file)
                self._mtime = mtime

    def rule_text(self, name: str) -> str | None:
        if name in self._override_text:
            return self._override_text[name]
        default = self.defaults.get(name)
        return default.check_str if default else None

    def evaluate(self, name: str, creds: Creds, target: Target, depth: int = 0) -> bool:
        check = self._overrides.get(name) or self._default_checks.get(name)
        if check is None:
            return False
        return check(creds, target, self, depth)

    def enforce(self, name: str, ctx: RequestContext, target: Target | None = None) -> bool:
        """Whether ``ctx`` passes rule ``name`` on ``target`` (default: its own project)."""
        if name not in self.defaults and name not in self._overrides:
            raise KeyError(f"policy rule {name} is not registered")
        self._maybe_reload()
        default = self.defaults.get(name)
        if default is not None and not in_scope(default.scope_types, ctx):
            return False
        full = {"project_id": ctx.project_id, "user_id": ctx.user_id, **(target or {})}
        return self.evaluate(name, credentials(ctx), full)

    def authorize(self, name: str, ctx: RequestContext, target: Target | None = None) -> None:
        """Raises Forbidden unless ``ctx`` passes rule ``name``."""
        if not self.enforce(name, ctx, target):
            raise PolicyForbidden(name)

    def sample(self, title: str) -> str:
        """The defaults as a commented YAML policy file."""
        lines = [f"# {title}: every rule with its default. Uncomment and edit to override;",
                 "# the rule language is oslo.policy's.", ""]
        for default in self.defaults.values():
            lines.append(f"# {default.description}")
            for method, path in default.operations:
                lines.append(f"# {method} {path}")
            lines.append(f"#{json.dumps(default.name)}: {json.dumps(default.check_str)}")
            lines.append("")
        return "\n".join(lines)


class PolicyForbidden(Forbidden):
    """A policy rule denied the request."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"Policy doesn't allow {rule} to be performed.")
        self.rule = rule


def _parse_file(path: Path, text: str) -> dict[str, str]:
    try:
        if path.suffix == ".json":
            data: Any = json.loads(text) if text.strip() else {}
        else:
            import yaml  # type: ignore[import-untyped,unused-ignore]

            data = yaml.safe_load(text) or {}
    except Exception as exc:
        raise PolicyError(f"policy file {path} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"policy file {path} must map rule names to rules")
    out = {}
    for name, rule in data.items():
        if not isinstance(rule, str):
            raise PolicyError(f"policy file {path}: rule {name!r} must be a string")
        out[str(name)] = rule
    return out


def _parse_named(name: str, rule: str) -> Check:
    try:
        return parse_rule(rule)
    except PolicyError as exc:
        raise PolicyError(f"rule {name!r}: {exc.message}") from None


# --- the rule of the current request -------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What the middleware checked for this request: finer checks reuse its enforcer."""

    enforcer: Enforcer
    rule: str | None


_current: contextvars.ContextVar[Decision | None] = contextvars.ContextVar(
    "policy_decision", default=None)


def bind(decision: Decision) -> contextvars.Token[Decision | None]:
    return _current.set(decision)


def unbind(token: contextvars.Token[Decision | None]) -> None:
    _current.reset(token)


def allowed(ctx: RequestContext, rule: str, target: Target | None = None) -> bool:
    """Whether the request's policy lets ``ctx`` pass ``rule``.

    Outside a request checked by the policy middleware only admins pass.
    """
    decision = _current.get()
    if decision is None:
        return ctx.is_admin
    return decision.enforcer.enforce(rule, ctx, target)


def authorize(ctx: RequestContext, rule: str, target: Target | None = None) -> None:
    """Raises Forbidden (the policy message) unless ``allowed``."""
    if not allowed(ctx, rule, target):
        raise PolicyForbidden(rule)


def authorize_route(ctx: RequestContext, target: Target) -> None:
    """Check the rule the middleware checked again, on another target (another user)."""
    decision = _current.get()
    if decision is None or decision.rule is None:
        if not ctx.is_admin:
            raise Forbidden("Policy doesn't allow this operation to be performed.")
        return
    decision.enforcer.authorize(decision.rule, ctx, target)


def current_rule() -> str | None:
    """The rule the policy middleware checked for the current request."""
    decision = _current.get()
    return decision.rule if decision is not None else None


def checked_by_policy() -> bool:
    """Whether the policy middleware authorised the current request."""
    decision = _current.get()
    return decision is not None and decision.rule is not None


# --- routes to rules --------------------------------------------------------------------


PUBLIC = ""  # a route anyone may call without a token
AUTHENTICATED = "@authenticated"  # a route any valid token may call (no rule, as upstream)


@dataclass(frozen=True)
class Match:
    rule: str | None  # None: not in the table
    params: dict[str, str] = field(default_factory=dict)
    actions: Mapping[str, str] | None = None  # body key -> rule (POST .../action)


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    rule: str
    actions: Mapping[str, str] | None


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template.rstrip("/")))
    return re.compile(f"^{pattern}/?$")


class RouteTable:
    """(HTTP method, path template) -> rule name, from the defaults' operations."""

    def __init__(self, defaults: Iterable[RuleDefault], prefix: str = "",
                 public: Iterable[tuple[str, str]] = (),
                 authenticated: Iterable[tuple[str, str]] = (),
                 actions: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
                 action_default: str | None = None) -> None:
        entries: dict[tuple[str, str], tuple[str, Mapping[str, str] | None]] = {}
        for default in defaults:
            for method, path in default.operations:
                key = (method.upper(), prefix + path)
                if key in entries and entries[key][0] != default.name:
                    raise ValueError(f"{method} {path} has two rules: {entries[key][0]} and "
                                     f"{default.name}")
                entries[key] = (default.name, None)
        for method, path in public:  # paths from the app's root, without the prefix
            entries[(method.upper(), path)] = (PUBLIC, None)
        for method, path in authenticated:
            entries[(method.upper(), prefix + path)] = (AUTHENTICATED, None)
        for (method, path), table in (actions or {}).items():
            entries[(method.upper(), prefix + path)] = (action_default or PUBLIC, table)
        routes = [_Route(m, p, _compile(p), rule, acts)
                  for (m, p), (rule, acts) in entries.items()]
        # Literal segments win over parameters (``/servers/detail`` before ``/servers/{id}``).
        routes.sort(key=lambda r: (r.template.count("{"), -len(r.template)))
        self.routes = routes
        self.prefix = prefix

    def match(self, method: str, path: str) -> Match:
        method = "GET" if method == "HEAD" else method
        for route in self.routes:
            if route.method != method:
                continue
            found = route.regex.match(path)
            if found:
                return Match(route.rule, found.groupdict(), route.actions)
        return Match(None)

    def templates(self) -> set[tuple[str, str]]:
        return {(r.method, r.template) for r in self.routes}


def action_rule(match: Match, body: Any, fallback: str) -> str:
    """The rule of a ``POST /servers/{id}/action`` body: its one key names the action."""
    if match.actions is None:
        return match.rule or fallback
    if isinstance(body, dict):
        for key in body:
            if key in match.actions:
                return match.actions[key]
    return match.rule or fallback

