"""What the panel reads from configured orgs, checked against the documented answers: describe's field types and
filter flags, the refusal of a field that cannot be filtered, the refusal of an object the user cannot use.

The local org is shaped with `POST /_admin/org`; a real org is taken as its admin configured it, so there the same
answers are provoked with what every org has (a long text area cannot be filtered; an object that does not exist
is refused like one the user may not read) and a custom phone field is looked for in describe.
"""

from __future__ import annotations

import pytest

from panel.salesforce import queries


@pytest.fixture
def shaped(contract_org, request):
    """`shape(**settings)` configures the local org (POST /_admin/org); against a real org it does nothing."""
    def shape(**settings) -> bool:
        if contract_org.is_local:
            request.getfixturevalue("localorg").admin("org", **settings)
        return contract_org.is_local
    return shape


def test_describe_gives_each_object_its_access_and_each_field_its_type_and_filter_flags(contract_org):
    for sobject in queries.POP_OBJECTS:
        body = contract_org.request("GET", f"sobjects/{sobject}/describe").json()
        assert isinstance(body["queryable"], bool) and isinstance(body["searchable"], bool)
        for entry in body["fields"]:
            assert isinstance(entry["name"], str) and isinstance(entry["type"], str)
            assert isinstance(entry["filterable"], bool) and isinstance(entry["sortable"], bool)
        assert {"Phone"} <= {f["name"] for f in body["fields"] if f["type"] == "phone"}


def test_custom_phone_fields_are_described_as_phone_fields(contract_org, shaped):
    shaped(custom_phone_fields=["Contact.Phone2__c"])
    fields = contract_org.request("GET", "sobjects/Contact/describe").json()["fields"]
    custom = [f for f in fields if f["type"] == "phone" and f["custom"]]
    if not custom:
        pytest.skip("this org has no custom phone field on Contact")
    phones = ("Contact", ("Phone", *(f["name"] for f in custom)))
    search = queries.screen_pop_phone_search('{"0312345678"}', queries.PopFields(phones=(phones,), described=True))
    assert contract_org.request("GET", "search", params={"q": search}).status_code == 200


def test_a_field_that_cannot_be_filtered_is_refused_as_an_invalid_field(contract_org, shaped):
    field = "MobilePhone" if shaped(encrypted_fields=["Contact.MobilePhone"]) else "Description"
    described = {f["name"]: f for f in contract_org.request("GET", "sobjects/Contact/describe").json()["fields"]}
    assert described[field]["filterable"] is False
    refused = contract_org.request("GET", "query", params={"q": f"SELECT Id FROM Contact WHERE {field} LIKE '%1%'"})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD" and field in refused.json()[0]["message"]


def test_an_object_the_user_cannot_use_is_refused_as_an_invalid_type(contract_org, shaped):
    local = shaped(object_access={"integration@example.com": {"Lead": "none"}})
    sobject = "Lead" if local else "PanelContractNoSuchObject__c"
    for path, q in (("query", f"SELECT Id FROM {sobject}"),
                    ("search", f"FIND {{0312345678}} IN PHONE FIELDS RETURNING Contact(Id), {sobject}(Id)")):
        refused = contract_org.request("GET", path, params={"q": q})
        assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_TYPE"
    assert contract_org.request("GET", f"sobjects/{sobject}/describe").status_code == 404


@pytest.mark.parametrize("fields", [
    queries.PopFields(unfilterable=frozenset({"Contact.MobilePhone"}), described=True),
    queries.PopFields(unreadable=frozenset({"Lead"}), described=True),
], ids=["a phone field cannot be filtered", "no lead access"])
def test_the_pops_statements_for_configured_orgs_are_accepted(contract_org, fields):
    from datetime import datetime, timedelta, timezone

    search = queries.screen_pop_phone_search('{"0312345678"}', fields)
    assert contract_org.request("GET", "search", params={"q": search}).status_code == 200
    since = datetime.now(timezone.utc) - timedelta(minutes=15)
    for soql in (queries.screen_pop_contact_cards([], since, ["%678%"], fields),
                 queries.screen_pop_lead_cards([], since, ["%678%"], fields)):
        if soql is not None:
            assert contract_org.request("GET", "query", params={"q": soql}).status_code == 200
