"""Policy: who may call what, as rules with defaults in code and an optional override file.

oslo.policy parses and evaluates the rules (``role:admin``, ``project_id:%(project_id)s``,
``rule:other``, ``@``, ``!``, ``'public':%(visibility)s``, ``and`` / ``or`` / ``not``,
parentheses; an empty rule allows everyone) and refuses a token whose scope a rule's
``scope_types`` exclude. Around it this module keeps what is ours: the defaults with the
operations they guard (``RuleDefault``), the (method, path template) lookup the route
middleware uses (``RouteTable``), and the policy file (YAML or JSON, ``[auth]
policy_file``) that replaces defaults by name. The file is read here, not by oslo.policy:
a rule oslo.policy cannot parse would silently deny, and a file that breaks while the
service runs would fail every request, where here a bad file refuses to start and a bad
edit keeps the rules read before.

Each HTTP service declares its rules (``RuleDefault``) with the operations they guard;
``RouteTable`` turns those into a (method, path template) lookup so one middleware checks
every request before a handler runs. Finer checks inside a handler (``all_tenants``,
another user's key pairs) call ``allowed()`` / ``authorize()`` with the rule name.
"""

from __future__ import annotations

import ast
import contextvars
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oslo_config import cfg
from oslo_policy import opts as oslo_opts
from oslo_policy import policy as oslo_policy

from common.context import RequestContext
from common.errors import ConfigError, Forbidden

if TYPE_CHECKING:
    from oslo_policy._checks import BaseCheck

LOG = logging.getLogger(__name__)

Target = Mapping[str, Any]
Creds = Mapping[str, Any]
# How often (seconds) a request may look at the policy file's modification time.
RELOAD_CHECK_INTERVAL = 1.0
# Decisions an enforcer remembers before it starts over.
_MEMO_SIZE = 4096


class PolicyError(ConfigError):
    """A rule that cannot be parsed, or a policy file that cannot be read."""


# --- the rule language -----------------------------------------------------------------

_KEYWORDS = frozenset({"and", "or", "not"})
# oslo.policy fetches these over HTTP; a policy decision never leaves the process here.
_REMOTE_KINDS = frozenset({"http", "https"})


class _Reads(dict[str, str]):
    """A target with every key, noting which keys a check's ``%(key)s`` formatting reads
    (``whole``: a bare ``%s`` formats the entire target)."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()
        self.whole = False

    def __missing__(self, key: str) -> str:
        self.read.add(key)
        return ""

    def __str__(self) -> str:
        self.whole = True
        return ""

    __repr__ = __str__


def _check_atoms(text: str) -> str | None:
    """Why a check of ``text`` would be wrong at evaluation time; None if none is.

    oslo.policy turns a check it cannot understand into "deny" (and a log line), and
    raises only when a request evaluates a check whose substitution or literal kind is
    malformed: refusing those here keeps a bad rule from loading at all.
    """
    for word in text.split():
        atom = word.lstrip("(").rstrip(")")
        if not atom or atom.lower() in _KEYWORDS or atom in ("@", "!"):
            continue
        kind, sep, match = atom.partition(":")
        if not sep or not kind:
            return f"{atom!r} is not kind:match"
        if kind in _REMOTE_KINDS:
            return f"{kind}: checks are not supported"
        if kind == "rule":
            continue  # a rule's name, never formatted
        try:
            match % _Reads()
        except (ValueError, TypeError) as exc:
            return f"{atom!r}: bad substitution ({exc})"
        if kind != "role":
            try:
                ast.literal_eval(kind)  # a quoted kind compares as a literal
            except ValueError:
                pass  # not a literal: a credential's name
            except Exception:
                return f"{atom!r}: {kind!r} is neither a name nor a literal"
    return None


def parse_rule(text: str) -> BaseCheck:
    """The oslo.policy check a rule string describes. Raises PolicyError."""
    why = _check_atoms(text)
    if why is not None:
        raise PolicyError(f"invalid policy rule {text!r}: {why}")
    if not text.strip():
        text = ""  # oslo.policy allows everyone for "", but fails closed on blanks
    check = oslo_policy.RuleDefault("parse", text).check
    # oslo.policy answers an unparseable rule with "!" (deny): only "!" itself may.
    if str(check) == "!" and text.replace("(", " ").replace(")", " ").split() != ["!"]:
        raise PolicyError(f"invalid policy rule {text!r}: and/or/not or parentheses do "
                          "not combine checks")
    return check


def _references(check: BaseCheck) -> Iterable[str]:
    """The rule names ``check`` refers to (``rule:name``)."""
    if isinstance(check, oslo_policy.RuleCheck):
        yield check.match
    elif isinstance(check, oslo_policy.AndCheck | oslo_policy.OrCheck):
        for part in check.rules:
            yield from _references(part)
    elif isinstance(check, oslo_policy.NotCheck):
        yield from _references(check.rule)


def _cut(check: BaseCheck, looping: frozenset[str]) -> BaseCheck:
    """``check`` with every reference to a rule of ``looping`` replaced by a denial."""
    if isinstance(check, oslo_policy.RuleCheck):
        return parse_rule("!") if check.match in looping else check
    if isinstance(check, oslo_policy.AndCheck):
        return oslo_policy.AndCheck([_cut(part, looping) for part in check.rules])
    if isinstance(check, oslo_policy.OrCheck):
        return oslo_policy.OrCheck([_cut(part, looping) for part in check.rules])
    if isinstance(check, oslo_policy.NotCheck):
        return oslo_policy.NotCheck(_cut(check.rule, looping))  # type: ignore[arg-type]
    return check


def _without_loops(rules: dict[str, BaseCheck]) -> dict[str, BaseCheck]:
    """``rules`` where a ``rule:`` reference that leads back to itself denies.

    oslo.policy follows references without a depth limit (a loop exhausts the stack
    mid-request) and only warns about loops: cut them here, once per load.
    """
    refs = {name: set(_references(check)) for name, check in rules.items()}
    looping = set()
    for name in rules:
        seen: set[str] = set()
        todo = list(refs[name])
        while todo:
            other = todo.pop()
            if other == name:
                looping.add(name)
                break
            if other not in seen and other in refs:
                seen.add(other)
                todo.extend(refs[other])
    if not looping:
        return rules
    LOG.error("policy rules %s lead back to themselves through rule: references: "
              "those references deny", ", ".join(sorted(looping)))
    return {name: _cut(check, frozenset(looping)) for name, check in rules.items()}


def _target_keys(name: str, rules: Mapping[str, BaseCheck]) -> tuple[str, ...] | None:
    """The target keys rule ``name`` can read, following its ``rule:`` references; None
    when that cannot be known (a check of a kind oslo.policy added, a bare ``%s``)."""
    keys: set[str] = set()
    seen = {name}
    todo = [rules[name]] if name in rules else []
    while todo:
        check = todo.pop()
        if isinstance(check, oslo_policy.RuleCheck):
            if check.match not in seen and check.match in rules:
                seen.add(check.match)
                todo.append(rules[check.match])
        elif isinstance(check, oslo_policy.AndCheck | oslo_policy.OrCheck):
            todo.extend(check.rules)
        elif isinstance(check, oslo_policy.NotCheck):
            todo.append(check.rule)
        elif isinstance(check, oslo_policy.Check):
            if type(check).__module__ != oslo_policy.Check.__module__:
                return None  # not a role or generic check: it may read anything
            reads = _Reads()
            check.match % reads
            if reads.whole:
                return None
            keys |= reads.read
        elif str(check) not in ("@", "!"):
            return None
    return tuple(sorted(keys))


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

    def to_oslo(self) -> oslo_policy.RuleDefault:
        """The same rule as oslo.policy registers it (its scope types checked there)."""
        return oslo_policy.RuleDefault(
            self.name, self.check_str if self.check_str.strip() else "",
            description=self.description, scope_types=list(self.scope_types) or None)


def credentials(ctx: RequestContext) -> dict[str, Any]:
    """``ctx`` as oslo.policy credentials.

    Unknown values are left out rather than set to None: oslo.policy would compare
    ``str(None)``, so a token without a project would match a target without one.
    """
    creds = {"user_id": ctx.user_id, "project_id": ctx.project_id, "roles": list(ctx.roles),
             "is_admin": ctx.is_admin, "system_scope": ctx.system_scope}
    return {key: value for key, value in creds.items() if value is not None}


def _target(target: Target) -> dict[str, Any]:
    """``target`` for oslo.policy: no None values (a missing key denies the check, as
    the substitution of a missing key does) and nested mappings also under dotted keys
    (``%(role.name)s``), which oslo.policy does not look into."""
    out: dict[str, Any] = {}
    for key, value in target.items():
        if value is None:
            continue
        out[key] = value
        if isinstance(value, Mapping):
            for inner_key, inner in _target(value).items():
                out.setdefault(f"{key}.{inner_key}", inner)
    return out


def _oslo_conf() -> cfg.ConfigOpts:
    """A private configuration for one oslo.policy enforcer (never the global CONF).

    No configuration file is read and no default rule stands in for a missing one: a
    reference to an unknown rule denies, whatever the file calls ``default``.
    """
    conf = cfg.ConfigOpts()
    conf([], project="kilonova", default_config_files=[], default_config_dirs=[])
    for group, options in oslo_opts.list_opts():
        conf.register_opts(options, group=group)
    conf.set_override("policy_default_rule", None, group="oslo_policy")
    return conf


class Enforcer:
    """Evaluates named rules: the defaults, replaced by what the policy file says.

    Wraps an oslo.policy enforcer that never reads files itself (``use_conf=False``):
    this class reads the policy file, checks every rule strictly and hands oslo.policy
    the parsed defaults and overrides together.
    """

    def __init__(self, defaults: Sequence[RuleDefault], policy_file: str | Path | None = None
                 ) -> None:
        self.defaults = {d.name: d for d in defaults}
        self._default_checks = {d.name: parse_rule(d.check_str)
                                for d in self.defaults.values()}
        self.policy_file = Path(policy_file) if policy_file else None
        self._oslo = oslo_policy.Enforcer(_oslo_conf(), use_conf=False)
        self._oslo.register_defaults([d.to_oslo() for d in self.defaults.values()])
        self._override_text: dict[str, str] = {}
        # Decisions already taken, by rule, caller and the target keys the rule reads.
        self._memo: dict[tuple[Any, ...], bool] = {}
        self._reads: dict[str, tuple[str, ...] | None] = {}
        self._mtime: float | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        if self.policy_file is not None:
            self._load()
        else:
            self._install({})

    def _install(self, overrides: Mapping[str, BaseCheck]) -> None:
        rules = _without_loops({**self._default_checks, **overrides})
        self._oslo.set_rules(rules, overwrite=True, use_conf=False)
        self._oslo.check_rules()  # logs references to rules nobody defined
        self._reads = {name: _target_keys(name, rules) for name in rules}
        # After the rules: a check that began before them stores into the old memo.
        self._memo = {}

    def _load(self) -> None:
        assert self.policy_file is not None
        try:
            stat = self.policy_file.stat()
            text = self.policy_file.read_text()
        except OSError as exc:
            raise PolicyError(f"policy file {self.policy_file}: {exc}") from exc
        data = _parse_file(self.policy_file, text)
        checks = {name: _parse_named(name, rule) for name, rule in data.items()}
        self._install(checks)
        self._override_text = dict(data)
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

    def enforce(self, name: str, ctx: RequestContext, target: Target | None = None) -> bool:
        """Whether ``ctx`` passes rule ``name`` on ``target`` (default: its own project)."""
        if name not in self.defaults and name not in self._override_text:
            raise KeyError(f"policy rule {name} is not registered")
        self._maybe_reload()
        full = _target({"project_id": ctx.project_id, "user_id": ctx.user_id,
                        **(target or {})})
        memo, key = self._memo, self._memo_key(name, ctx, full)
        if key is not None:
            known = memo.get(key)
            if known is not None:
                return known
        allowed = bool(self._oslo.enforce(name, full, credentials(ctx)))
        if key is not None:
            if len(memo) >= _MEMO_SIZE:
                memo = self._memo = {}
            memo[key] = allowed
        return allowed

    def _memo_key(self, name: str, ctx: RequestContext, target: Mapping[str, Any]
                  ) -> tuple[Any, ...] | None:
        """What a decision of rule ``name`` depends on; None: do not remember it.

        oslo.policy evaluates a rule in tens of microseconds (it inspects every check's
        signature on every call), and a server list asks the same few rules for every
        server: a decision is a function of the rules, the caller and the target keys
        the rule reads, so it is remembered until the rules change.
        """
        reads = self._reads.get(name)
        if reads is None:
            return None
        key = (name, ctx.user_id, ctx.project_id, ctx.roles, ctx.system_scope,
               tuple(target.get(k) for k in reads))
        try:
            hash(key)
        except TypeError:  # a target value that is a list or a mapping
            return None
        return key

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


def _parse_named(name: str, rule: str) -> BaseCheck:
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

