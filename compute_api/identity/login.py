"""Password logins, slowed down for guessers.

Two brakes, both configurable in ``[identity]``:

- per user (in the database, so every API process sees it): after
  ``lockout_failure_attempts`` wrong passwords in a row the user is refused for
  ``lockout_duration`` seconds, even with the right password, with the same answer as a
  wrong one (a guesser learns nothing);
- per client address (in this process): after ``source_failure_attempts`` failed logins
  within ``source_failure_window`` seconds the address gets 429 with ``Retry-After``
  until the window moves on. This also covers guesses at user names that do not exist.

Both are logged, with the user and the address.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import IdentityUser
from common.db import transaction, utcnow
from common.errors import Throttled, Unauthorized
from common.settings import IdentitySettings
from compute_api.identity.passwords import check_password
from compute_api.identity.store import domain_of

LOG = logging.getLogger(__name__)
REFUSED = "The request you have made requires authentication."


class SourceThrottle:
    """Failed logins per client address over a sliding window (one API process)."""

    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, source: str, now: float) -> collections.deque[float]:
        times = self._failures.setdefault(source, collections.deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, source: str) -> None:
        """Raises Throttled while ``source`` has failed too often lately."""
        if not self.limit:
            return
        now = self._clock()
        with self._lock:
            times = self._recent(source, now)
            if len(times) < self.limit:
                return
            wait = max(1, math.ceil(times[0] + self.window - now))
        LOG.warning("refused a login from %s: %d failed logins in %ss", source,
                    self.limit, self.window)
        raise Throttled(f"Too many failed logins from {source}: try again in {wait} s.",
                        retry_after=wait)

    def failed(self, source: str) -> None:
        if not self.limit:
            return
        now = self._clock()
        with self._lock:
            self._recent(source, now).append(now)
            if len(self._failures) > 10_000:  # bound memory under a spray of addresses
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]


def _find(session: Session, user_ref: dict[str, object]) -> IdentityUser | None:
    domain = domain_of(user_ref.get("domain"))  # type: ignore[arg-type]
    if user_ref.get("id"):
        return session.get(IdentityUser, str(user_ref["id"]))
    if user_ref.get("name"):
        return session.scalar(sa.select(IdentityUser).where(
            IdentityUser.name == str(user_ref["name"]), IdentityUser.domain_id == domain))
    return None


def password_login(sessions: sessionmaker[Session], readers: sessionmaker[Session],
                   cfg: IdentitySettings, throttle: SourceThrottle,
                   user_ref: dict[str, object], password: str, source: str) -> IdentityUser:
    """The enabled user the password identity names. Raises Unauthorized, Throttled."""
    throttle.check(source)
    with transaction(readers) as session:
        user = _find(session, user_ref)
        locked = (user is not None and user.locked_until is not None
                  and user.locked_until > utcnow())
        good = check_password(password, None if user is None or locked
                              else user.password_hash)
    if user is not None and good and user.enabled:
        if user.failed_logins:
            with transaction(sessions) as session:
                session.execute(sa.update(IdentityUser).where(IdentityUser.id == user.id)
                                .values(failed_logins=0))
        return user
    throttle.failed(source)
    if locked:
        LOG.warning("refused a login of locked-out user %s from %s", user_ref, source)
    elif user is not None and not good:
        _count_failure(sessions, cfg, user, source)
    raise Unauthorized(REFUSED)


def _count_failure(sessions: sessionmaker[Session], cfg: IdentitySettings,
                   user: IdentityUser, source: str) -> None:
    """One more wrong password for ``user``; locks it out at the configured count."""
    if not cfg.lockout_failure_attempts:
        return
    with transaction(sessions) as session:
        session.execute(sa.update(IdentityUser).where(IdentityUser.id == user.id)
                        .values(failed_logins=IdentityUser.failed_logins + 1))
        count = session.scalar(sa.select(IdentityUser.failed_logins)
                               .where(IdentityUser.id == user.id)) or 0
        if count >= cfg.lockout_failure_attempts:
            session.execute(sa.update(IdentityUser).where(IdentityUser.id == user.id).values(
                failed_logins=0,
                locked_until=utcnow() + timedelta(seconds=cfg.lockout_duration)))
            LOG.warning("user %s (%s) locked out for %d s after %d wrong passwords, the "
                        "last from %s", user.name, user.id, cfg.lockout_duration, count,
                        source)
