"""The pop service and its Salesforce boundary, below the views: costs, cache, invalidation, boundary shapes."""

from __future__ import annotations

import pytest

from panel.callers import lookup, picks
from panel.localorg.seed import IDS, ORG_ID, USER_IDS
from panel.phone import parse_caller
from panel.salesforce import contacts
from panel.salesforce.client import SalesforceClient

AGENT = lookup.Agent(org_id=ORG_ID, user_id=USER_IDS["agent"], name="佐藤 花子")
OTHER_AGENT = lookup.Agent(org_id=ORG_ID, user_id=USER_IDS["agent2"], name="高木 翼")
SETTINGS = lookup.PopSettings(region="JP")  # the defaults, as panel.config gives them


@pytest.fixture
def salesforce(localorg) -> SalesforceClient:
    token = localorg.client_credentials_token()
    return SalesforceClient(token["instance_url"], token["access_token"], api_version="62.0")


@pytest.fixture
def ctx(app):
    with app.app_context():
        from panel.extensions import cache
        cache.clear()
        yield app


def test_the_pops_settings_are_read_from_the_checked_config():
    config = {"PANEL_DEFAULT_REGION": "us", "PANEL_MATCH_PRIORITY": ("Lead", "Contact"), "PANEL_POP_CACHE_TTL_S": 0,
              "PANEL_POP_TIMEOUT_S": 2.5}
    settings = lookup.PopSettings.from_config(config)
    assert (settings.region, settings.priority, settings.cache_ttl_s, settings.timeout_s) == (
        "US", ("Lead", "Contact"), 1, 2.5)
    assert lookup.PopSettings.from_config({"PANEL_DEFAULT_REGION": "JP"}) == lookup.PopSettings(region="JP")


def test_a_lookup_is_one_search_and_one_composite_and_then_cached(ctx, localorg, salesforce):
    before = localorg.stats()["endpoints"]
    result = lookup.pop(AGENT, "03-1234-5678", salesforce, settings=SETTINGS)
    after = localorg.stats()["endpoints"]
    assert result.state == "card" and result.card.record_id == IDS["contact.yamada_taro"]
    assert after.get("search", 0) - before.get("search", 0) == 1
    assert after.get("composite", 0) - before.get("composite", 0) == 1
    spent = localorg.api_requests()
    again = lookup.pop(AGENT, "0312345678", salesforce, settings=SETTINGS)
    assert again.card.record_id == IDS["contact.yamada_taro"]
    assert localorg.api_requests() == spent


def test_a_warm_pop_makes_the_pop_at_answer_free_for_that_agent_only(ctx, localorg, salesforce):
    assert lookup.warm_pop(salesforce, AGENT, "+81 6-6123-4567", settings=SETTINGS) is True
    spent = localorg.api_requests()
    assert lookup.pop(AGENT, "06-6123-4567", lambda: pytest.fail("no client needed"),
                      settings=SETTINGS).state == "matches"
    assert localorg.api_requests() == spent
    lookup.pop(OTHER_AGENT, "06-6123-4567", salesforce, settings=SETTINGS)
    assert localorg.api_requests() > spent


def test_a_warm_pop_of_a_withheld_number_asks_nothing(ctx, localorg, salesforce):
    spent = localorg.api_requests()
    assert lookup.warm_pop(salesforce, AGENT, "非通知", settings=SETTINGS) is False
    assert localorg.api_requests() == spent


def test_invalidating_a_record_makes_every_agents_next_pop_read_it_again(ctx, localorg, salesforce, sf):
    for agent in (AGENT, OTHER_AGENT):
        lookup.pop(agent, "03-1234-5678", salesforce, settings=SETTINGS)
    sf.Contact.update(IDS["contact.yamada_taro"], {"Title": "常務取締役"})
    cached = lookup.pop(AGENT, "03-1234-5678", salesforce, settings=SETTINGS)
    assert cached.card.title == "営業部長"  # still the cached answer
    lookup.invalidate_pop(ORG_ID, record_id=IDS["contact.yamada_taro"][:15])
    for agent in (AGENT, OTHER_AGENT):
        assert lookup.pop(agent, "03-1234-5678", salesforce, settings=SETTINGS).card.title == "常務取締役"


def test_invalidating_a_number_finds_a_record_created_with_it(ctx, localorg, salesforce, sf):
    assert lookup.pop(AGENT, "03-7777-0001", salesforce, settings=SETTINGS).state == "no_match"
    created = sf.Lead.create({"LastName": "新井", "Company": "新井製作所", "Phone": "+81 3 7777 0001"})
    lookup.invalidate_pop(ORG_ID, number=parse_caller("０３－７７７７－０００１", "JP"))
    found = lookup.pop(AGENT, "03-7777-0001", salesforce, settings=SETTINGS)
    assert found.state == "card" and found.card.record_id == created["id"]


def test_the_remembered_pick_is_dropped_once_the_record_loses_the_number(ctx, localorg, salesforce, sf):
    assert lookup.pop(AGENT, "06-6123-4567", salesforce, settings=SETTINGS).state == "matches"
    picked = lookup.pick_record(AGENT, "06-6123-4567", IDS["contact.yoshida_aya"], salesforce, settings=SETTINGS,
                                call_id="call-9")
    assert picked.card.record_id == IDS["contact.yoshida_aya"] and picked.pick.picked_by == "佐藤 花子"
    other = lookup.pop(OTHER_AGENT, "06-6123-4567", salesforce, settings=SETTINGS)
    assert other.card.record_id == IDS["contact.yoshida_aya"]

    sf.Contact.update(IDS["contact.yoshida_aya"], {"Phone": "06-6123-0000"})
    lookup.invalidate_pop(ORG_ID, record_id=IDS["contact.yoshida_aya"])
    after = lookup.pop(AGENT, "06-6123-4567", salesforce, settings=SETTINGS)
    assert after.state == "card" and after.card.record_id == IDS["contact.yoshida_sho"] and not after.remembered
    assert picks.remembered_pick(ORG_ID, "+81661234567") is None  # forgotten, not just ignored

    sf.Contact.update(IDS["contact.yoshida_aya"], {"Phone": "06-6123-4567"})  # the number comes back
    lookup.invalidate_pop(ORG_ID, number=parse_caller("06-6123-4567", "JP"))
    # someone has to pick again
    assert lookup.pop(AGENT, "06-6123-4567", salesforce, settings=SETTINGS).state == "matches"


def test_a_remembered_pick_survives_a_pop_that_does_not_change_it(ctx, localorg, salesforce):
    lookup.pop(AGENT, "06-6123-4567", salesforce, settings=SETTINGS)
    lookup.pick_record(AGENT, "06-6123-4567", IDS["contact.yoshida_aya"], salesforce, settings=SETTINGS)
    lookup.invalidate_pop(ORG_ID, number=parse_caller("06-6123-4567", "JP"))
    spent = localorg.api_requests()
    again = lookup.pop(OTHER_AGENT, "06-6123-4567", salesforce, settings=SETTINGS)
    assert again.remembered and again.card.record_id == IDS["contact.yoshida_aya"]
    assert localorg.api_requests() - spent <= 2  # checking the pick rides in the same composite
    assert picks.remembered_pick(ORG_ID, "+81661234567") is not None


def test_manual_search_finds_people_by_name_email_and_number(ctx, localorg, salesforce):
    by_name = lookup.manual_search(salesforce, "吉田", AGENT, settings=SETTINGS)
    assert {IDS["contact.yoshida_sho"], IDS["contact.yoshida_aya"]} <= {m.record_id for m in by_name}
    by_email = lookup.manual_search(salesforce, "taro.yamada@yamada-shoji.example.jp", AGENT,
                                    settings=SETTINGS)
    assert IDS["contact.yamada_taro"] in {m.record_id for m in by_email}
    by_number = lookup.manual_search(salesforce, "090-1234-5678", AGENT, settings=SETTINGS)
    assert [m.record_id for m in by_number] == [IDS["contact.yamada_taro"]]
    with pytest.raises(ValueError):
        lookup.manual_search(salesforce, " x ", AGENT, settings=SETTINGS)


@pytest.mark.parametrize("text", ['"} OR {*', "a' OR Name != '", "山田\\", "山田 AND NOT 鈴木", "(03) *"])
def test_manual_search_text_cannot_change_the_search(ctx, localorg, salesforce, text):
    assert isinstance(lookup.manual_search(salesforce, text, AGENT, settings=SETTINGS), list)


def test_a_withheld_pop_never_opens_a_connection(ctx, localorg):
    result = lookup.pop(AGENT, "anonymous", lambda: pytest.fail("no client for a withheld number"),
                        settings=SETTINGS)
    assert result.state == "unknown_caller"


# -- the boundary -------------------------------------------------------------------------------------------------

def test_search_cannot_see_a_new_record_but_the_recent_changes_query_can(localorg, salesforce, sf):
    from datetime import datetime, timedelta, timezone
    from panel.phone import search_terms, sosl_find_clause
    created = sf.Lead.create({"LastName": "遅延", "Company": "遅延工業", "Phone": "03-7777-0002"})
    number = parse_caller("03-7777-0002")
    assert contacts.search_phone(salesforce, sosl_find_clause(search_terms(number))) == []
    cards = contacts.fetch_cards(salesforce, changed_since=datetime.now(timezone.utc) - timedelta(minutes=5))
    assert created["id"] in {card.record_id for card in cards}


def test_a_card_reads_owner_company_and_the_primary_open_opportunity(localorg, salesforce):
    cards = contacts.fetch_cards(salesforce, ids={"Contact": [IDS["contact.yamada_taro"]]},
                                 account_ids=[IDS["account.yamada_shoji"]])
    (card,) = [c for c in cards if c.record_type == "Contact"]
    assert card.company == "株式会社山田商事" and card.title == "営業部長" and "花子" in card.owner_name
    assert card.stage == "Negotiation/Review" and not card.opportunities[0].via_account
    assert card.url.endswith(f"/lightning/r/Contact/{IDS['contact.yamada_taro']}/view")
    assert not any(c.record_type == "Account" for c in cards)  # read for the fallback only


def test_quick_create_is_one_request_and_salesforce_refusals_name_the_field(localorg, salesforce):
    spent = localorg.api_requests()
    card = contacts.create_record(salesforce, "Lead", {"LastName": "新田", "Company": "新田商店",
                                                       "Phone": "03-7777-0003"})
    assert localorg.api_requests() == spent + 1
    assert card.record_type == "Lead" and card.company == "新田商店" and card.lead_status
    with pytest.raises(contacts.CreateRejected) as refused:
        contacts.create_record(salesforce, "Lead", {"LastName": "新田"})
    assert "Company" in {problem.field for problem in refused.value.problems}


def test_recent_changes_are_read_only_for_records_that_may_have_the_number(localorg, salesforce, sf):
    from datetime import datetime, timedelta, timezone
    from panel.phone import recent_change_patterns
    wanted = sf.Lead.create({"LastName": "狙い", "Company": "狙い商事", "Phone": "０３－７７００－５６７８"})
    other = sf.Lead.create({"LastName": "無関係", "Company": "無関係商事", "Phone": "03-7700-9999"})
    cards = contacts.fetch_cards(salesforce, changed_since=datetime.now(timezone.utc) - timedelta(minutes=5),
                                 phone_patterns=recent_change_patterns(parse_caller("03-7700-5678")))
    found = {card.record_id for card in cards}
    assert wanted["id"] in found and other["id"] not in found


@pytest.mark.parametrize("record_type, record, stage, via_account", [
    ("Contact", "contact.yamada_taro", "Negotiation/Review", False),
    ("Contact", "contact.kobayashi_makoto", "Negotiation/Review", True),  # no role: its Account's
    ("Account", "account.yamada_shoji", "Negotiation/Review", False),
    ("Contact", "contact.takahashi_misaki", None, False),  # nothing open, here or at its Account
])
def test_the_lists_read_a_cards_stage_in_their_own_single_request(localorg, salesforce, record_type, record, stage,
                                                                   via_account):
    from datetime import date
    from panel.salesforce import tasks
    spent = localorg.api_requests()
    lists = tasks.load_lists(salesforce, record_type, IDS[record], today=date.today(), with_stage=True)
    assert localorg.api_requests() == spent + 1
    assert lists.opportunities is not None
    assert (lists.opportunities[0].stage if lists.opportunities else None) == stage
    assert all(o.via_account == via_account for o in lists.opportunities)


def test_the_stage_of_a_contact_without_an_account_is_no_open_opportunity(localorg, salesforce, sf):
    from datetime import date
    from panel.salesforce import tasks
    lone = sf.Contact.create({"LastName": "単独", "Phone": "03-7777-0009"})["id"]
    assert tasks.load_lists(salesforce, "Contact", lone, today=date.today(), with_stage=True).opportunities == ()
    assert tasks.load_lists(salesforce, "Contact", lone, today=date.today()).opportunities is None  # not asked
