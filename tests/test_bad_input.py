"""Whatever a caller sends, the panel answers with a clear 4xx (or a normal page), never a 500."""

from __future__ import annotations

import re

import pytest

from panel.localorg.seed import IDS
from tests.conftest import sign_in

YAMADA = IDS["contact.yamada_taro"]
TASK = IDS["task.call_inbound_yamada"]
HX = {"HX-Request": "true"}

GARBAGE_VALUES = ["", " ", "\x00", "call\x00id", "%00", "\ufffd" * 3, "'; DROP TABLE x; --", "{!x}", "\\", "a" * 20000,
                  "<script>alert(1)</script>", "\u202e\u0000\U0001F4DE", "@{ref.id}", "../../etc/passwd", "-1",
                  "2147483648", "9" * 18, "1e9"]


def csrf_token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/panel").text).group(1)


@pytest.fixture
def signed_in_token(signed_in_client):
    return csrf_token(signed_in_client)


def every_route(item: int):
    """(method, url, the inputs a well-behaved caller sends) for each route that takes input."""
    panel = {"phone": "03-1234-5678", "call_id": "call-1", "direction": "inbound"}
    record = {"record_id": YAMADA, "record_type": "Contact", "active_call_id": "call-1"}
    task = {"subject": "Call back", "notes": "n", "due_date": "2026-12-24", "what_id": "", "call_id": "",
            "closed": "1"}
    yield "GET", "/panel", panel
    yield "GET", "/panel/search", {"q": "山田", **panel}
    for view in ("next-steps", "past-activities", "tasks", "tasks/new"):
        yield "GET", f"/panel/records/{YAMADA}/{view}", {"record_type": "Contact", "call_id": "call-1",
                                                        "offset": "0", "stage": "1", "closed": "1"}
    yield "GET", "/auth/login", {"next": "/panel"}
    yield "GET", "/auth/callback", {"code": "c", "state": "s", "error": "access_denied"}
    yield "GET", "/review", {"reason": "none", "after": "1"}
    yield "GET", f"/review/items/{item}/search", {"q": "山田"}
    yield "POST", "/panel/pick", {**panel, "record_id": YAMADA, "record_type": "Contact"}
    yield "POST", "/panel/records", {**panel, "record_type": "Contact", "LastName": "新規", "FirstName": "太郎",
                                     "Company": "株式会社テスト", "Title": "部長", "Email": "new@example.com",
                                     "Phone": "03-5555-0101"}
    yield "POST", f"/panel/records/{YAMADA}/tasks", {**record, **task}
    yield "POST", f"/panel/tasks/{TASK}", {**record, **task}
    yield "POST", f"/panel/tasks/{TASK}/done", record
    yield "POST", f"/review/items/{item}/pick", {"record_id": YAMADA, "record_type": "Contact"}
    yield "POST", f"/review/items/{item}/lead", {"LastName": "新規", "FirstName": "花子", "Company": "テスト",
                                                "Phone": "03-5555-0102"}


def test_garbage_in_any_one_input_of_any_route_is_never_a_server_error(app, client, localorg, review_item):
    """Each input in turn holds each garbage value while the others are what the panel's own pages send, so the
    garbage gets past the checks of the fields before it (a NUL call id once reached PostgreSQL that way)."""
    sign_in(client, localorg, "reviewer@example.com")
    token = csrf_token(client)
    failures = []
    for method, url, good in every_route(review_item):
        for name in good:
            for value in GARBAGE_VALUES:
                inputs = {**good, name: value}
                sent = {"query_string": inputs} if method == "GET" else {"data": {**inputs, "csrf_token": token}}
                for headers in ({}, HX):
                    answer = client.open(url, method=method, headers=headers, **sent)
                    if answer.status_code >= 500:
                        failures.append(f"{method} {url} {name}={value[:20]!r} → {answer.status_code}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("record_id", ["x", "0" * 18, "003" + "!" * 15, YAMADA[:15] + "zzz", "%2e%2e%2f"])
def test_a_malformed_record_id_in_the_path_is_refused_or_redirected(signed_in_client, record_id):
    for view in ("tasks", "tasks/new", "next-steps", "past-activities"):
        answer = signed_in_client.get(f"/panel/records/{record_id}/{view}", headers=HX)
        assert 300 <= answer.status_code < 500, (view, answer.status_code)


@pytest.mark.parametrize("text", ["{!x}", "\ufffd" * 3, "\u202e\u0000\U0001F4DE", "!", "a"])
def test_a_manual_search_for_nothing_searchable_asks_for_more_instead_of_blaming_salesforce(signed_in_client, text):
    answer = signed_in_client.get("/panel/search", query_string={"q": text}, headers=HX)
    assert 400 <= answer.status_code < 500


@pytest.mark.parametrize("body, content_type", [
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    (b"csrf_token=%ZZ&record_id=%", "application/x-www-form-urlencoded"),
    (b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n", "multipart/form-data; boundary=x"),
    (b"{\"record_id\": 1}", "application/json"),
    (b"a=" + b"b" * 10, "text/plain"),
])
def test_malformed_form_bodies_are_refused_clearly(signed_in_client, body, content_type):
    for url in ("/panel/pick", "/panel/records", "/auth/logout", "/webhooks/calls"):
        answer = signed_in_client.post(url, data=body, content_type=content_type)
        assert 400 <= answer.status_code < 500, (url, answer.status_code)


@pytest.mark.parametrize("url", ["/panel/pick", "/panel/records", "/webhooks/calls", f"/panel/tasks/{TASK}"])
def test_an_oversized_body_is_413(signed_in_client, signed_in_token, url):
    answer = signed_in_client.post(url, data={"csrf_token": signed_in_token, "notes": "x" * (2 * 1024 * 1024)})
    assert answer.status_code == 413


@pytest.mark.filterwarnings("ignore:The '__Host-panel_session' cookie is too large")
def test_a_forged_or_oversized_session_cookie_is_a_fresh_signed_out_session(app, client):
    for forged in ("garbage", "eyJjb25uZWN0aW9uX2lkIjoxfQ.forged.sig", "x" * 8000):
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
        answer = client.get("/panel")
        assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]


@pytest.mark.parametrize("headers", [
    {"Accept-Language": "x" * 10000},
    {"Accept-Language": "ja;q=abc, en;q=-1, *;q=NaN"},
    {"HX-Request": "\x00" * 5},
    {"X-CSRFToken": "a" * 50000},
    {"Host": "evil.example:99999"},
    {"Cookie": "; ".join(f"c{n}=v" for n in range(2000))},
])
def test_huge_or_odd_headers_are_never_a_server_error(signed_in_client, headers):
    for method, url in (("GET", "/panel?phone=03-1234-5678"), ("GET", "/"), ("GET", "/healthz"),
                        ("POST", "/panel/pick")):
        assert signed_in_client.open(url, method=method, headers=headers).status_code < 500


@pytest.mark.parametrize("method, url", [("PUT", "/panel"), ("DELETE", "/auth/logout"), ("GET", "/panel/pick"),
                                         ("PATCH", "/webhooks/calls"), ("GET", "/static/../app.py"),
                                         ("GET", "/nowhere"), ("GET", "/review/items/99999999999999999999/search")])
def test_wrong_methods_and_unknown_paths_get_their_4xx(signed_in_client, method, url):
    answer = signed_in_client.open(url, method=method)
    assert 400 <= answer.status_code < 500


def test_a_huge_request_line_is_refused_by_the_real_server(app):
    """Over real HTTP the server itself refuses a request line or header longer than it reads (no 500)."""
    import threading

    import requests
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        long_line = requests.get(f"{base}/panel?phone=" + "1" * 70000, timeout=10)
        long_header = requests.get(f"{base}/healthz", headers={"X-Big": "y" * 70000}, timeout=10)
        many_headers = requests.get(f"{base}/healthz", headers={f"X-H{n}": "v" for n in range(150)}, timeout=10)
    finally:
        server.shutdown()
    assert long_line.status_code == 414
    assert long_header.status_code == 431
    assert many_headers.status_code == 431
