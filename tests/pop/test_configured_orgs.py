"""The screen pop in orgs as their admins configured them (`POST /localorg/_admin/org`): custom phone fields,
encrypted phone fields and objects an agent may not read. An org as Salesforce ships it never pays for describing
it; a configured one pays one describe per agent and hour."""

from __future__ import annotations

from test_screen_pop import configure, pop, shown_record

from panel.localorg.seed import IDS

YAMADA = IDS["contact.yamada_taro"]


def index_catches_up(localorg) -> None:
    """Move the org's clock past its search index's lag, so SOSL sees what was just written."""
    localorg.admin("clock", advance_s=3600)


# -- custom phone fields -------------------------------------------------------------------------------------------

def test_a_caller_known_only_by_a_custom_phone_field_is_found(signed_in_client, localorg, sf):
    localorg.admin("org", custom_phone_fields=["Contact.Phone2__c"])
    sf.Contact.update(YAMADA, {"Phone2__c": "075-111-2222"})
    index_catches_up(localorg)
    before = localorg.api_requests()
    found = pop(signed_in_client, "075-111-2222")
    assert shown_record(found) == (YAMADA, "Contact")
    assert "075-111-2222" in found.text  # the card shows the number it was found by
    # search and composite, the search's hit has none of the standard phones: one describe, the two again
    assert localorg.api_requests() - before == 5
    middle = localorg.api_requests()
    assert shown_record(pop(signed_in_client, "+81323456789")) == (IDS["contact.suzuki_ichiro"], "Contact")
    assert localorg.api_requests() - middle == 2  # described once: the next cold pop costs what it always does


def test_a_setting_may_narrow_the_phone_fields_the_pop_reads(signed_in_client, localorg, sf, app):
    configure(app, PANEL_PHONE_FIELDS=("Contact.Phone", "Contact.MobilePhone"))
    localorg.admin("org", custom_phone_fields=["Contact.Phone2__c"])
    sf.Contact.update(YAMADA, {"Phone2__c": "075-111-2222"})
    index_catches_up(localorg)
    assert 'id="no-match"' in pop(signed_in_client, "075-111-2222").text
    assert shown_record(pop(signed_in_client, "090-1234-5678")) == (YAMADA, "Contact")


def test_an_org_as_salesforce_ships_it_is_never_described(signed_in_client, localorg):
    pop(signed_in_client, "052-123-4567")  # a Lead and a Contact: every hit verified
    pop(signed_in_client, "03-9999-0000")  # nobody
    assert "describe" not in localorg.stats()["endpoints"]


# -- encrypted phone fields ----------------------------------------------------------------------------------------

def test_an_org_with_the_contacts_mobile_phone_encrypted_still_pops(signed_in_client, localorg):
    localorg.admin("org", encrypted_fields=["Contact.MobilePhone"])
    before = localorg.api_requests()
    assert shown_record(pop(signed_in_client, "090-1234-5678")) == (YAMADA, "Contact")
    assert localorg.api_requests() - before == 5  # the recent changes' LIKE refused, one describe, the two again


def test_a_contact_saved_a_moment_ago_with_an_encrypted_mobile_is_found_before_search_sees_it(
        signed_in_client, localorg, sf):
    localorg.admin("org", encrypted_fields=["Contact.MobilePhone"])
    created = sf.Contact.create({"LastName": "暗号", "FirstName": "花子", "MobilePhone": "090-5555-6666"})["id"]
    assert shown_record(pop(signed_in_client, "09055556666")) == (created, "Contact")


# -- objects the agent may not read --------------------------------------------------------------------------------

def test_an_agent_without_lead_access_still_pops_a_contact(signed_in_client, localorg):
    localorg.admin("org", object_access={"agent@example.com": {"Lead": "none"}})
    found = pop(signed_in_client, "052-123-4567")  # a Lead's and a Contact's number
    assert shown_record(found) == (IDS["contact.inoue_yoko"], "Contact")
    assert IDS["lead.matsumoto_daisuke"] not in found.text


def test_an_agent_without_lead_access_can_search_by_hand(signed_in_client, localorg):
    localorg.admin("org", object_access={"agent@example.com": {"Lead": "none"}})
    results = signed_in_client.get("/panel/search?q=052-123-4567", headers={"HX-Request": "true"})
    assert results.status_code == 200
    assert IDS["contact.inoue_yoko"] in results.text and IDS["lead.matsumoto_daisuke"] not in results.text
