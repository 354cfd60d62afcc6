"""Rate limits as the real API sends them: a sliding window per token, ``RateLimit-*`` headers
on every answer, and a 429 with no ``Retry-After`` (the sandbox's limiter, over loopback)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bpshell.sandbox import ALICE_TOKEN, Sandbox
from tests.conftest import Bp, seed


@pytest.fixture
def limited(sandbox: Sandbox) -> Iterator[Sandbox]:
    yield sandbox
    sandbox.set_rate_limit(None)


def forty(bp: Bp, url: str) -> None:
    """40 profiles of one token (one window for all of them), their tokens in the file."""
    profiles = {
        f"p{index:02d}": {"apiUrl": url, "workspaceId": "ws_acme", "token": ALICE_TOKEN}
        for index in range(40)
    }
    seed(bp, {"version": 1, "activeProfile": "p00", "profiles": profiles})


def test_verify_of_forty_profiles_under_a_tight_limit_finishes(bp: Bp, limited: Sandbox) -> None:
    """40 requests under 20 per 2 s: slower, and every profile checked, none failed."""
    forty(bp, limited.url)
    limited.set_rate_limit(20, 2.0)
    result = bp("profiles", "list", "--verify", "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [row["status"] for row in rows] == ["ok"] * 40
    assert result.err.count("is rate limiting requests; waiting") == 1  # said once
    # The first wave goes before any answer tells the limit; after it, requests wait their
    # turn instead of retrying blindly: far fewer than three tries each.
    sent = limited.stats.requests
    assert sent.keys() == {"getWorkspace"}
    assert 40 <= sum(sent.values()) <= 80


def test_a_429_without_retry_after_waits_for_the_window(bp: Bp, limited: Sandbox) -> None:
    """The limiter's 429 says nothing but RateLimit-Reset: bp waits that long, says so, and the
    command succeeds."""
    forty(bp, limited.url)
    limited.set_rate_limit(2, 2.0)
    assert bp("profiles", "active").code == 0  # the window is full now
    result = bp("profiles", "active")
    assert result.code == 0, result.err
    assert result.out.splitlines()[2] == "Authenticated: Yes"
    assert f"{limited.url} is rate limiting requests; waiting" in result.err


def test_a_wait_past_the_deadline_fails_at_once_with_when_to_retry(
    bp: Bp, limited: Sandbox
) -> None:
    forty(bp, limited.url)
    # `profiles active` makes three requests at once (account, workspace, role): the first
    # run takes the whole window; with two, whichever came third was refused.
    limited.set_rate_limit(3, 120.0)
    assert bp("profiles", "active").code == 0
    result = bp("profiles", "active", "--json")
    assert result.code == 1
    data = json.loads(result.out)
    assert (data["status"], data["errorType"]) == ("rate_limited", "RateLimited")
    assert data["error"].startswith(f"{limited.url} is rate limiting requests; try again in ")
