"""Password guessing is slowed down: per user (lockout) and per client address (429)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from tests.conftest import BACKENDS, cloud_settings, running_cloud
from tests.functional.compute.conftest import ADMIN_PASSWORD, password_token

LOCKOUT_AFTER, LOCKOUT_SECONDS = 3, 2
# The window is long enough that a slow machine cannot let failures slide out of it.
SOURCE_LIMIT, SOURCE_WINDOW = 12, 120
# Failed logins the lockout test makes from this address (3 wrong, 1 while locked).
LOCKOUT_TEST_FAILURES = LOCKOUT_AFTER + 1


@pytest.fixture(scope="module", params=BACKENDS)
def guarded_cloud(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    settings = cloud_settings(tmp_path_factory.mktemp("throttle"), str(request.param))
    settings.auth = settings.auth.model_copy(update={"strategy": "builtin"})
    settings.identity = settings.identity.model_copy(update={
        "admin_password": ADMIN_PASSWORD, "lockout_failure_attempts": LOCKOUT_AFTER,
        "lockout_duration": LOCKOUT_SECONDS, "source_failure_attempts": SOURCE_LIMIT,
        "source_failure_window": SOURCE_WINDOW})
    with running_cloud(settings) as running:
        yield running


def _make_user(cloud: EmbeddedCloud, name: str) -> None:
    admin = password_token(cloud.base_url, "admin", ADMIN_PASSWORD, "admin")
    headers = {"X-Auth-Token": admin.headers["X-Subject-Token"]}
    base = f"{cloud.base_url}/identity/v3"
    pid = httpx.get(f"{base}/projects?name=admin", headers=headers, timeout=30
                    ).json()["projects"][0]["id"]
    user = httpx.post(f"{base}/users", headers=headers, timeout=30, json={
        "user": {"name": name, "password": "right"}}).json()["user"]
    httpx.put(f"{base}/projects/{pid}/users/{user['id']}/roles/member", headers=headers,
              timeout=30)


def test_wrong_passwords_lock_the_user_out_for_a_while(
        guarded_cloud: EmbeddedCloud, caplog: pytest.LogCaptureFixture) -> None:
    _make_user(guarded_cloud, "victim")
    caplog.set_level(logging.WARNING, logger="compute_api.identity.login")
    for _ in range(LOCKOUT_AFTER):
        assert password_token(guarded_cloud.base_url, "victim", "guess", "admin"
                              ).status_code == 401
    # Locked: even the right password is refused, with the same answer as a wrong one.
    locked = password_token(guarded_cloud.base_url, "victim", "right", "admin")
    assert locked.status_code == 401
    assert locked.json()["error"]["code"] == 401
    assert any("locked out" in r.getMessage() and "victim" in r.getMessage()
               for r in caplog.records)
    time.sleep(LOCKOUT_SECONDS + 0.2)
    assert password_token(guarded_cloud.base_url, "victim", "right", "admin"
                          ).status_code == 201


def test_one_address_guessing_many_names_gets_429(
        guarded_cloud: EmbeddedCloud, caplog: pytest.LogCaptureFixture) -> None:
    # Runs after the lockout test, whose failures count for this address too.
    caplog.set_level(logging.WARNING, logger="compute_api.identity.login")
    allowed = SOURCE_LIMIT - LOCKOUT_TEST_FAILURES
    answers = [password_token(guarded_cloud.base_url, f"nobody-{i}", "guess", "admin"
                              ).status_code for i in range(allowed + 3)]
    assert answers == [401] * allowed + [429] * 3
    # Now even the right password is refused from this address, with a hint when to retry.
    refused = password_token(guarded_cloud.base_url, "admin", ADMIN_PASSWORD, "admin")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= SOURCE_WINDOW
    assert any("refused a login from" in r.getMessage() for r in caplog.records)
