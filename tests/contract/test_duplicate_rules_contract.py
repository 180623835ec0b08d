"""Duplicate rules, checked against the documented answers: a create a rule matches answers 400 DUPLICATES_DETECTED
with a `duplicateResult` (REST API Developer Guide, "Duplicate Rule Header"; SOAP API Developer Guide,
DuplicateResult, MatchResult, MatchRecord), `includeRecordDetails=true` brings the duplicate's fields, and an
alert rule lets the save through with `allowSave=true`, also from a composite subrequest's `httpHeaders` (how the
panel's quick-create sends it).

The local org is given an alert rule on Contact (LastName and Email). A real org is taken as its admin configured
it: Salesforce's standard Contact duplicate rule (active in new orgs, alert on create) matches two Contacts with the
same name and e-mail; an org where no rule fires skips these checks.
"""

from __future__ import annotations

import pytest

from tests.contract.conftest import MARKER
from tests.contract.test_configured_org_contract import shaped  # noqa: F401 - the fixture

HEADER = "Sforce-Duplicate-Rule-Header"
CONTACT = {"FirstName": "Taro", "LastName": f"{MARKER}Duplicate", "Email": "panel.contract.duplicate@example.com"}


def first_and_again(contract_org, shaped):  # noqa: F811 - the fixture's value
    """The record created once, then the answer to creating it again (skipped when no rule refused it)."""
    shaped(duplicate_rules=[{"object": "Contact", "match": ["LastName", "Email"], "action": "alert"}])
    existing = contract_org.create("Contact", CONTACT)
    again = contract_org.request("POST", "sobjects/Contact", json=CONTACT,
                                 headers={HEADER: "includeRecordDetails=true"})
    if again.status_code == 201:
        contract_org.created.append(("Contact", again.json()["id"]))
        pytest.skip("no active duplicate rule matched the second Contact in this org")
    return existing, again


def test_a_duplicate_is_refused_with_the_documented_duplicate_result(contract_org, shaped):  # noqa: F811
    existing, again = first_and_again(contract_org, shaped)
    assert again.status_code == 400
    [error] = [e for e in again.json() if e.get("errorCode") == "DUPLICATES_DETECTED"]
    assert isinstance(error["message"], str)
    result = error["duplicateResult"]
    assert {"allowSave", "duplicateRule", "duplicateRuleEntityType", "errorMessage", "matchResults"} <= set(result)
    assert result["allowSave"] is True and result["duplicateRuleEntityType"] == "Contact"
    matched = []
    for match in result["matchResults"]:
        assert {"entityType", "errors", "matchEngine", "matchRecords", "rule", "size", "success"} <= set(match)
        assert match["size"] == len(match["matchRecords"])
        for record in match["matchRecords"]:
            assert {"additionalInformation", "fieldDiffs", "matchConfidence", "record"} <= set(record)
            assert record["record"]["attributes"]["type"] == "Contact"
            matched.append(record["record"])
    shown = next(record for record in matched if record["Id"] == existing)
    assert shown["LastName"] == CONTACT["LastName"]  # includeRecordDetails: the duplicate's fields


def test_allow_save_saves_past_an_alert_rule_from_a_composite_subrequest(contract_org, shaped):  # noqa: F811
    first_and_again(contract_org, shaped)
    answer = contract_org.request("POST", "composite", json={"allOrNone": True, "compositeRequest": [{
        "method": "POST", "referenceId": "again", "url": f"/services/data/v{contract_org.version}/sobjects/Contact",
        "body": CONTACT, "httpHeaders": {HEADER: "allowSave=true; includeRecordDetails=true; runAsCurrentUser=true"},
    }]})
    [created] = answer.json()["compositeResponse"]
    assert created["httpStatusCode"] == 201, created
    contract_org.created.append(("Contact", created["body"]["id"]))
