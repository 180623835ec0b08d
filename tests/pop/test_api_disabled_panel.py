"""An org whose edition has no API access: the agent is told why the panel cannot work, and what to ask for."""

from __future__ import annotations

import pytest

from panel.localorg.seed import IDS
from tests.pop.test_screen_pop import HX, pop


@pytest.mark.parametrize("lang, words", [
    ("en", ("does not include API access", "Professional Edition without the API add-on", "API Enabled",
            "ask your Salesforce administrator")),
    ("ja", ("API アクセス", "Professional Edition", "API Enabled", "システム管理者")),
])
def test_the_pop_says_the_org_has_no_api_access_and_offers_no_pointless_retry(signed_in_client, localorg, lang,
                                                                              words):
    localorg.admin("org", api_enabled=False)
    response = pop(signed_in_client, "03-1234-5678", lang=lang)
    assert 'data-failure="api_disabled"' in response.text
    assert all(word in response.text for word in words), response.text
    assert 'class="retry"' not in response.text


def test_other_fragments_say_it_too(signed_in_client, localorg):
    localorg.admin("org", api_enabled=False)
    lists = signed_in_client.get(f"/panel/records/{IDS['contact.yamada_taro']}/tasks?record_type=Contact&lang=en",
                                 headers=HX)
    assert lists.status_code == 502
    assert "does not include API access" in lists.text and "API Enabled" in lists.text


def test_with_the_api_back_the_pop_works_again(signed_in_client, localorg):
    localorg.admin("org", api_enabled=False)
    assert 'data-failure="api_disabled"' in pop(signed_in_client, "03-1234-5678").text
    localorg.admin("org", api_enabled=True)
    assert 'data-failure' not in pop(signed_in_client, "03-1234-5678").text


def test_an_agent_can_still_sign_in_and_is_then_told(client, localorg):
    from tests.conftest import sign_in
    localorg.admin("org", api_enabled=False)
    sign_in(client, localorg)  # OAuth is no API request: Salesforce signs the agent in all the same
    assert 'data-failure="api_disabled"' in pop(client, "03-1234-5678").text
