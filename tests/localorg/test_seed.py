"""The seed: the phone cases it promises are stored as documented, and ids stay put across resets."""

from __future__ import annotations

import pytest

from panel.localorg import ids, seed


@pytest.mark.parametrize("case", sorted(seed.SEED_PHONES))
def test_each_seeded_phone_case_is_stored_as_typed(sf, case):
    stored, keys = seed.SEED_PHONES[case]
    for key in keys:
        sobject = {"contact": "Contact", "lead": "Lead", "account": "Account"}[key.split(".")[0]]
        record = getattr(sf, sobject).get(seed.IDS[key])
        assert stored in (record.get("Phone"), record.get("MobilePhone"))


def test_seed_ids_are_valid_and_stable_across_resets(localorg):
    assert all(ids.to_18(i) == i for i in seed.IDS.values())
    first = localorg.salesforce().Contact.get(seed.IDS["contact.yamada_taro"])["CreatedDate"]
    localorg.admin("reset")
    assert localorg.salesforce().Contact.get(seed.IDS["contact.yamada_taro"])["CreatedDate"][:10] == first[:10]


def test_converted_lead_points_at_what_it_became(sf):
    lead = sf.Lead.get(seed.IDS["lead.yamamoto_kenichi"])
    assert lead["IsConverted"] is True and lead["Status"] == "Closed - Converted"
    assert lead["ConvertedContactId"] == seed.IDS["contact.yamamoto_kenichi"]
    assert lead["ConvertedOpportunityId"] == seed.IDS["opportunity.yamamoto_app"]


def test_seeded_call_task_carries_call_fields(sf):
    task = sf.Task.get(seed.IDS["task.call_inbound_yamada"])
    assert (task["TaskSubtype"], task["CallType"], task["CallDurationInSeconds"]) == ("Call", "Inbound", 312)
    assert task["IsClosed"] is True and task["AccountId"] == seed.IDS["account.yamada_shoji"]
