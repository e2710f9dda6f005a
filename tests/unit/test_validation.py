"""JSON Schema checks speak the Compute API's words and never echo a huge value."""

from __future__ import annotations

import pytest

from common import validation
from common.errors import BadRequest
from compute_api.quotas import QUOTA_VALUE

QUOTA = {"type": "object", "properties": {"cores": QUOTA_VALUE}, "additionalProperties": False}


@pytest.mark.parametrize(("body", "message"), [
    ({"cores": 2**63}, "Invalid input for field/attribute cores. Value: 9223372036854775808. "
                       "9223372036854775808 is greater than the maximum of 2147483647"),
    ({"cores": -2}, "Invalid input for field/attribute cores. Value: -2. -2 is less than the "
                    "minimum of -1"),
    ({"cores": "ten"}, "Invalid input for field/attribute cores. Value: ten. 'ten' does not "
                       "match '^-?[0-9]+$'"),
    ({"cores": True}, "Invalid input for field/attribute cores. Value: True. True is not of "
                      "type 'integer', 'string'"),
    ({"gpus": 1}, "Additional properties are not allowed ('gpus' was unexpected)"),
])
def test_messages_read_like_upstream(body: object, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        validation.check(QUOTA, body)
    assert caught.value.message == message


def test_valid_values_pass() -> None:
    for value in (-1, 0, 2**31 - 1, "12", "-1"):
        validation.check(QUOTA, {"cores": value})


def test_a_huge_value_is_cut_short_in_the_message() -> None:
    with pytest.raises(BadRequest) as caught:
        validation.check({"properties": {"name": validation.name()}}, {"name": "n" * 100_000})
    assert "is too long" in caught.value.message
    assert len(caught.value.message) < 400
