"""GET /softphone and GET /softphone/match (panel/softphone/views.py): signed-in only, the page's own CSP frames
exactly the configured phone, and the contact match answers from the panel's lookup and cache."""

from __future__ import annotations

import re

import pytest

from panel.config import ConfigError
from tests.conftest import sign_in

RINGCENTRAL = {"PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID": "test-client"}


def configure(app, **values) -> None:
    app.config.update(values)


def frame_sources(response) -> list[str]:
    policy = response.headers["Content-Security-Policy"]
    return re.search(r"frame-src ([^;]*)", policy).group(1).split()


def test_signed_out_agents_are_sent_to_sign_in(app, client):
    configure(app, **RINGCENTRAL)
    assert client.get("/softphone?dialer=ringcentral").status_code == 302
    assert client.get("/softphone/match?phone=03-1234-5678").status_code == 302


def test_the_page_frames_the_phone_and_the_panel_and_nothing_else(app, client, localorg):
    configure(app, **RINGCENTRAL, PANEL_SOFTPHONE_AIRCALL=True)
    sign_in(client, localorg)
    response = client.get("/softphone?dialer=ringcentral")
    assert response.status_code == 200
    assert frame_sources(response) == ["'self'", "https://apps.ringcentral.com"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self': no inline script
    page = response.text
    assert 'src="https://apps.ringcentral.com/integration/ringcentral-embeddable/latest/app.html?clientId=test-client"' in page
    assert 'id="panel-frame"' in page and 'src="/panel"' in page
    assert 'data-origin="https://apps.ringcentral.com"' in page
    assert "<script>" not in page and " style=" not in page


def test_an_unconfigured_or_unknown_dialer_is_404(app, client, localorg):
    configure(app, **RINGCENTRAL)
    sign_in(client, localorg)
    assert client.get("/softphone?dialer=zoom").status_code == 404
    assert client.get("/softphone?dialer=%00").status_code == 404


def test_without_a_dialer_the_page_lists_the_configured_phones(app, client, localorg):
    configure(app, **RINGCENTRAL, PANEL_SOFTPHONE_DIALPAD_CLIENT_ID="dp1")
    sign_in(client, localorg)
    response = client.get("/softphone")
    assert response.status_code == 200
    assert frame_sources(response) == ["'self'"]
    assert "dialer=ringcentral" in response.text and "dialer=dialpad" in response.text
    assert "dialer=aircall" not in response.text


def test_the_match_names_the_verified_record_and_reuses_the_pops_lookup(app, client, localorg):
    sign_in(client, localorg)
    before = localorg.api_requests()
    pop = client.get("/panel?phone=03-1234-5678")
    assert pop.status_code == 200
    after_pop = localorg.api_requests()
    answer = client.get("/softphone/match?phone=03-1234-5678")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["state"] == "card" and body["e164"] == "+81312345678"
    assert [record["name"] for record in body["records"]] == ["山田 太郎"]
    assert body["records"][0]["type"] == "Contact"
    assert localorg.api_requests() == after_pop > before  # the match asked Salesforce nothing more
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_match_lists_every_verified_record_of_a_shared_number(app, client, localorg):
    sign_in(client, localorg)
    body = client.get("/softphone/match?phone=06-6123-4567").get_json()
    assert body["state"] == "matches"
    assert len(body["records"]) == 2


@pytest.mark.parametrize("phone, state", [("03-9999-0000", "no_match"), ("非通知", "unknown_caller")])
def test_the_match_names_nobody_for_an_unknown_or_withheld_number(app, client, localorg, phone, state):
    sign_in(client, localorg)
    body = client.get("/softphone/match", query_string={"phone": phone}).get_json()
    assert (body["state"], body["records"]) == (state, [])


@pytest.mark.parametrize("query", ["", "phone=", "phone=" + "1" * 101])
def test_a_missing_or_overlong_number_is_400_naming_the_field(app, client, localorg, query):
    sign_in(client, localorg)
    response = client.get("/softphone/match?" + query)
    assert response.status_code == 400
    assert response.get_json()["field"] == "phone"


def test_a_softphone_variable_that_cannot_work_stops_the_start(localorg, tmp_path):
    from panel import create_app

    with pytest.raises(ConfigError, match="PANEL_SOFTPHONE_ZOOM_URL"):
        create_app({"TESTING": True, "SECRET_KEY": "k", "LOCALORG_URL": localorg.url,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}", "CACHE_TYPE": "SimpleCache",
                    "PANEL_JOBS_MEMORY": True, "PANEL_SOFTPHONE_ZOOM_URL": "http://zoom.example/phone"})
