"""The local org's admin endpoints (`/_admin/*`) and sign-in page cannot be turned against a developer's machine by
a web page: no cross-site request reaches the admin endpoints, and no other site can frame the sign-in page."""

from __future__ import annotations

import re

import pytest
import requests

from tests.localorg.conftest import REDIRECT_URI, pkce_pair
from tests.conftest import LOCAL_CLIENT_ID


def faults(localorg) -> dict:
    """The faults in force, seen through the API's behaviour: a latency set by the test stays set."""
    return localorg.app.extensions["localorg"].store.meta("faults", "{}")


# -- admin: JSON from this machine only -------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"])
def test_a_cross_site_post_is_refused_and_changes_nothing(localorg, origin):
    """What a web page can send without a CORS preflight: a text/plain "simple" request, here with JSON in it."""
    localorg.admin("faults", latency_ms=7)
    for content_type in ("text/plain", "application/json"):
        answer = requests.post(f"{localorg.url}/_admin/reset", data='{}', timeout=10,
                               headers={"Origin": origin, "Content-Type": content_type})
        assert answer.status_code == 403
        assert answer.headers["Content-Type"] == "application/json"
        assert "Origin" in answer.json()["error"]
    assert '"latency_ms": 7' in faults(localorg)


@pytest.mark.parametrize("content_type, body", [
    ("text/plain", '{"latency_ms": 9}'),
    ("application/x-www-form-urlencoded", "latency_ms=9"),
    ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="latency_ms"\r\n\r\n9\r\n--x--'),
    (None, '{"latency_ms": 9}'),
])
def test_a_body_that_is_not_json_is_a_415_and_changes_nothing(localorg, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    answer = requests.post(f"{localorg.url}/_admin/faults", data=body, headers=headers, timeout=10)
    assert answer.status_code == 415
    assert "application/json" in answer.json()["error"]
    assert '"latency_ms": 9' not in faults(localorg)


def test_json_from_the_org_itself_or_from_no_page_at_all_is_served(localorg):
    own = localorg.base_url  # what a browser on the org's own page sends
    answer = requests.post(f"{localorg.url}/_admin/faults", json={"latency_ms": 3}, headers={"Origin": own},
                           timeout=10)
    assert answer.status_code == 200 and answer.json()["latency_ms"] == 3
    assert requests.post(f"{localorg.url}/_admin/faults", json={}, timeout=10).status_code == 200  # scripts, tests
    assert requests.post(f"{localorg.url}/_admin/clock", json={"advance_s": 1},
                         headers={"Content-Type": "application/merge-patch+json"}, timeout=10).status_code == 200
    assert localorg.stats()["clock_offset_s"] == 1


def test_reading_the_stats_from_another_site_is_refused(localorg):
    answer = requests.get(f"{localorg.url}/_admin/stats", headers={"Origin": "http://evil.example"}, timeout=10)
    assert answer.status_code == 403
    assert requests.get(f"{localorg.url}/_admin/stats", timeout=10).status_code == 200


def test_a_name_that_resolves_to_this_machine_is_not_this_machine(localorg_server):
    """DNS rebinding: evil.example made to resolve to 127.0.0.1 sends its own name as Host and Origin. Only the
    loopback names (127.0.0.1, localhost, [::1]) are the org's own."""
    client = localorg_server.app.test_client()
    answer = client.post("/_admin/reset", json={}, base_url="http://evil.example:5000",
                         headers={"Origin": "http://evil.example:5000"})
    assert answer.status_code == 403 and "loopback" in answer.json["error"]
    assert client.post("/_admin/faults", json={}, base_url="http://localhost:5000",
                       headers={"Origin": "http://localhost:5000"}).status_code == 200


# -- the sign-in page: nobody frames it ------------------------------------------------------------------------------

def csp(response) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
            for part in (item.strip() for item in response.headers["Content-Security-Policy"].split(";")) if part}


def _authorize_params(**overrides) -> dict:
    _, challenge = pkce_pair()
    return {"response_type": "code", "client_id": LOCAL_CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s1",
            "code_challenge": challenge, "code_challenge_method": "S256", **overrides}


def test_the_sign_in_page_carries_the_panels_security_headers_and_cannot_be_framed(localorg):
    page = requests.get(f"{localorg.url}/services/oauth2/authorize", params=_authorize_params(), timeout=10)
    assert page.status_code == 200
    policy = csp(page)
    assert policy["frame-ancestors"] == "'none'" and page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert policy["default-src"] == "'none'" and "unsafe-inline" not in page.headers["Content-Security-Policy"]
    # the page's one style block is allowed by its nonce, a fresh one on every answer
    nonce = re.search(r"<style nonce=\"([^\"]+)\">", page.text).group(1)
    assert policy["style-src"] == f"'nonce-{nonce}'"
    again = requests.get(f"{localorg.url}/services/oauth2/authorize", params=_authorize_params(), timeout=10)
    assert csp(again)["style-src"] != policy["style-src"]
    assert 'style="' not in page.text
    # the form posts to the page itself, which sends the browser back to the (checked) redirect URI
    assert policy["form-action"].split() == ["'self'", "http://127.0.0.1:5999"]


def test_the_sign_in_pages_errors_cannot_be_framed_either(localorg):
    refused = requests.get(f"{localorg.url}/services/oauth2/authorize",
                           params=_authorize_params(redirect_uri="https://evil.example.com/cb"), timeout=10)
    assert refused.status_code == 400
    assert csp(refused)["frame-ancestors"] == "'none'" and csp(refused)["form-action"] == "'none'"
    assert refused.headers["X-Frame-Options"] == "DENY" and 'style="' not in refused.text


def test_every_answer_of_the_org_is_kept_out_of_frames(localorg):
    token = localorg.client_credentials_token()["access_token"]
    answer = requests.get(f"{localorg.url}/services/data/v62.0/limits", headers={"Authorization": f"Bearer {token}"},
                          timeout=10)
    assert answer.status_code == 200
    assert csp(answer)["frame-ancestors"] == "'none'" and answer.headers["X-Content-Type-Options"] == "nosniff"
