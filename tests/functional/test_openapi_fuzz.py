"""Every API's OpenAPI document, fuzzed against a running cloud: no answer is a 5xx.

Schemathesis turns each operation of a document into requests, valid and invalid
(wrong types, out-of-range values, missing and unknown fields); each API gets a
bounded number of examples per operation so the whole run stays near a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from cli.embedded import EmbeddedCloud
from tests.conftest import BACKENDS, cloud_settings, running_cloud

ADMIN_PASSWORD = "fuzz-admin"
EXAMPLES = 8
# (API, where it is mounted, the version header its requests carry)
APIS = [
    ("compute", "/compute", {"OpenStack-API-Version": "compute 2.96"}),
    ("placement", "/placement", {"OpenStack-API-Version": "placement latest"}),
    ("image", "/image", {}),
    ("identity", "/identity", {}),
]


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed_cloud(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    settings = cloud_settings(tmp_path_factory.mktemp("fuzz"), str(request.param))
    settings.auth = settings.auth.model_copy(update={"strategy": "builtin"})
    settings.identity = settings.identity.model_copy(update={"admin_password": ADMIN_PASSWORD})
    with running_cloud(settings) as running:
        yield running


@pytest.fixture(scope="module")
def admin_token(fuzzed_cloud: EmbeddedCloud) -> str:
    resp = httpx.post(f"{fuzzed_cloud.base_url}/identity/v3/auth/tokens", timeout=30,
                      json={"auth": {"identity": {"methods": ["password"], "password": {
                          "user": {"name": "admin", "domain": {"id": "default"},
                                   "password": ADMIN_PASSWORD}}},
                          "scope": {"project": {"name": "admin",
                                                "domain": {"id": "default"}}}}})
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def _operations(doc: dict[str, Any]) -> list[Any]:
    schema = schemathesis.openapi.from_dict(doc)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize(("api", "mount", "headers"), APIS, ids=[a[0] for a in APIS])
def test_no_request_an_openapi_document_allows_gets_a_server_error(
    fuzzed_cloud: EmbeddedCloud, admin_token: str, api: str, mount: str,
    headers: dict[str, str],
) -> None:
    base = f"{fuzzed_cloud.base_url}{mount}"
    doc = httpx.get(f"{base}/openapi.json", timeout=30)
    assert doc.status_code == 200, doc.text
    operations = _operations(doc.json())
    assert operations
    modes = st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    failures: list[str] = []
    seen: list[int] = []
    sent = {**headers, "X-Auth-Token": admin_token}

    for operation in operations:
        strategy = modes.flatmap(lambda mode, op=operation: op.as_strategy(
            generation_mode=mode))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def probe(case: Any) -> None:
            response = case.call(base_url=base, headers=sent, timeout=30)
            seen.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {case.as_curl_command()}\n"
                                f"  {response.text[:300]}")

        probe()
    # Every operation was called, and the invalid requests were refused.
    assert len(seen) >= len(operations)
    assert any(400 <= status < 500 for status in seen)
    assert not failures, "\n".join(failures)
