"""panel.softphone.settings: which web phones are on, their documented embed URLs and origins, and the values that
cannot work (sources cited in the module's docstring)."""

from __future__ import annotations

import pytest

from panel.softphone import settings
from panel.softphone.settings import SoftphoneConfigError, configured, softphone


def config(**values) -> dict:
    return {**settings.DEFAULTS, **values}


def test_every_phone_is_off_until_its_variable_is_set():
    assert configured(config()) == []
    assert softphone(config(), "ringcentral") is None


def test_ringcentral_embeds_the_documented_app_with_the_client_id():
    phone = softphone(config(PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID="abcDEF_12-3"), "ringcentral")
    assert phone.embed_url == ("https://apps.ringcentral.com/integration/ringcentral-embeddable/latest/app.html"
                               "?clientId=abcDEF_12-3")
    assert phone.origin == "https://apps.ringcentral.com"


def test_dialpad_loads_the_apps_url_with_the_client_id():
    phone = softphone(config(PANEL_SOFTPHONE_DIALPAD_CLIENT_ID="Xy12"), "dialpad")
    assert (phone.embed_url, phone.origin) == ("https://dialpad.com/apps/Xy12", "https://dialpad.com")


def test_aircall_is_a_switch_and_connect_frames_the_instances_ccp():
    assert softphone(config(PANEL_SOFTPHONE_AIRCALL=True), "aircall").origin == "https://workspace.aircall.io"
    phone = softphone(config(PANEL_SOFTPHONE_CONNECT_INSTANCE_URL="https://acme.my.connect.aws"), "connect")
    assert (phone.embed_url, phone.origin) == ("https://acme.my.connect.aws/ccp-v2/", "https://acme.my.connect.aws")
    legacy = softphone(config(PANEL_SOFTPHONE_CONNECT_INSTANCE_URL="https://acme.awsapps.com/connect/ccp-v2"),
                       "connect")
    assert legacy.embed_url == "https://acme.awsapps.com/connect/ccp-v2/"


def test_zoom_takes_the_url_zoom_gives_and_its_origin():
    url = "https://applications.zoom.us/integration/phone/embeddablephone/home"
    phone = softphone(config(PANEL_SOFTPHONE_ZOOM_URL=url), "zoom")
    assert (phone.embed_url, phone.origin) == (url, "https://applications.zoom.us")


@pytest.mark.parametrize("url, origin", [
    ("https://applications.zoom.us:443/integration/phone/embeddablephone/home", "https://applications.zoom.us"),
    ("https://Applications.ZOOM.us/x", "https://applications.zoom.us"),
    ("https://phone.example.com:8443/x", "https://phone.example.com:8443"),
    ("https://電話.example.jp/x", "https://xn--722ax0w.example.jp"),
])
def test_the_origin_is_the_one_the_browser_reports_for_the_phones_messages(url, origin):
    """postMessage's event.origin drops a default port and carries the ASCII form of the host: the page compares
    the phone's messages with it."""
    assert softphone(config(PANEL_SOFTPHONE_ZOOM_URL=url), "zoom").origin == origin


def test_configured_lists_the_phones_that_are_on_in_a_fixed_order():
    found = configured(config(PANEL_SOFTPHONE_AIRCALL=True, PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID="id"))
    assert [phone.dialer for phone in found] == ["ringcentral", "aircall"]


def test_an_unknown_dialer_is_none():
    assert softphone(config(PANEL_SOFTPHONE_AIRCALL=True), "skype") is None


@pytest.mark.parametrize("name, value", [
    ("PANEL_SOFTPHONE_ZOOM_URL", "http://applications.zoom.us/x"),          # plain http off loopback
    ("PANEL_SOFTPHONE_ZOOM_URL", "https://*.zoom.us/x"),                   # no concrete host
    ("PANEL_SOFTPHONE_ZOOM_URL", "javascript:alert(1)"),
    ("PANEL_SOFTPHONE_CONNECT_INSTANCE_URL", "https://user:pw@acme.my.connect.aws"),
    ("PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID", "id&appServer=https://evil.example"),
    ("PANEL_SOFTPHONE_DIALPAD_CLIENT_ID", "../x"),
])
def test_a_value_that_cannot_work_is_refused_naming_the_variable(name, value):
    with pytest.raises(SoftphoneConfigError, match=name):
        settings.check(config(**{name: value}))


def test_http_is_accepted_on_loopback_for_local_stand_ins():
    phone = softphone(config(PANEL_SOFTPHONE_ZOOM_URL="http://localhost:8123/zoom.html"), "zoom")
    assert phone.origin == "http://localhost:8123"
