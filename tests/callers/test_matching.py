"""Which records a call matches, in which order, and whether the panel shows a card, a remembered pick or a list."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from panel.callers.matching import Candidate, Decision, decide, rank, same_record, verify
from panel.phone import parse_caller

CALLER = parse_caller("+81312345678")
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

# 18-character Ids in Salesforce's key prefixes: 003 Contact, 001 Account, 00Q Lead.
CONTACT_ID = "003000000000001AAA"
CONTACT_2_ID = "003000000000002AAA"
ACCOUNT_ID = "001000000000001AAA"
LEAD_ID = "00Q000000000001AAA"
LEAD_2_ID = "00Q000000000002AAA"


def contact(record_id=CONTACT_ID, phone="03-1234-5678", modified=NOW, **phones) -> Candidate:
    return Candidate(record_id=record_id, record_type="Contact", name="山田 太郎", company="Acme", title="部長",
                     owner_name="Sato", phones={"Phone": phone, "MobilePhone": None, **phones},
                     last_modified=modified)


def account(record_id=ACCOUNT_ID, phone="03-1234-5678", modified=NOW) -> Candidate:
    return Candidate(record_id=record_id, record_type="Account", name="Acme", company="Acme", owner_name="Sato",
                     phones={"Phone": phone}, last_modified=modified)


def lead(record_id=LEAD_ID, phone="03-1234-5678", modified=NOW, converted=False, **phones) -> Candidate:
    return Candidate(record_id=record_id, record_type="Lead", name="Suzuki", company="Beta", owner_name="Ito",
                     phones={"Phone": phone, **phones}, last_modified=modified, is_converted=converted)


def ids(candidates) -> list[str]:
    return [c.record_id for c in candidates]


# -- verify --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stored", [
    "03-1234-5678", "０３－１２３４－５６７８", "+81 (0)3-1234-5678", "81312345678", "tel:+81-3-1234-5678",
    "03-1234-5678 内線12", "(03)1234-5678", "+81 3 1234 5678",
])
def test_record_with_the_number_in_any_format_is_verified(stored):
    assert ids(verify([contact(phone=stored)], CALLER, "JP")) == [CONTACT_ID]


@pytest.mark.parametrize("stored", [
    "03-1234-5679", "06-1234-5678", "1234-5678", "03-1234-5678-9", "+1 312-345-678", "0120-345-678", "非通知", "",
    None, "see notes", "03-1234",
])
def test_sosl_token_hit_without_the_number_is_dropped(stored):
    assert verify([contact(phone=stored)], CALLER, "JP") == []


def test_verified_candidate_records_which_field_matched():
    found = verify([contact(phone="03-9999-9999", AssistantPhone="03-1234-5678")], CALLER, "JP")
    assert [c.matched_field for c in found] == ["AssistantPhone"]


def test_first_matching_field_in_field_order_is_recorded():
    candidate = contact(phone="03-1234-5678", OtherPhone="+81312345678")
    assert verify([candidate], CALLER, "JP")[0].matched_field == "Phone"


def test_mobile_phone_of_a_lead_matches_a_mobile_caller():
    found = verify([lead(phone=None, MobilePhone="090-1234-5678")], parse_caller("+819012345678"), "JP")
    assert [(c.record_id, c.matched_field) for c in found] == [(LEAD_ID, "MobilePhone")]


def test_converted_lead_is_excluded_even_when_its_number_matches():
    assert ids(verify([lead(converted=True), contact()], CALLER, "JP")) == [CONTACT_ID]


def test_unconverted_lead_is_kept():
    assert ids(verify([lead(converted=False)], CALLER, "JP")) == [LEAD_ID]


def test_record_found_by_sosl_and_by_the_recent_query_appears_once():
    from_sosl = contact(modified=NOW - timedelta(minutes=5))
    from_recent = contact(modified=NOW)
    found = verify([from_sosl, from_recent], CALLER, "JP")
    assert ids(found) == [CONTACT_ID]
    assert found[0].modified_at == NOW


def test_fifteen_and_eighteen_character_ids_of_one_record_are_one_candidate():
    found = verify([contact(record_id=CONTACT_ID[:15]), contact(record_id=CONTACT_ID)], CALLER, "JP")
    assert len(found) == 1


def test_verify_accepts_the_raw_caller_id():
    assert ids(verify([contact()], "０３－１２３４－５６７８", "JP")) == [CONTACT_ID]


def test_withheld_caller_verifies_nothing():
    assert verify([contact(phone="非通知")], "非通知", "JP") == []


def test_us_record_is_not_a_japanese_caller_with_the_same_digits():
    us_contact = contact(phone="+1 312-345-678")
    assert verify([us_contact], parse_caller("+13123456780"), "JP") == []
    assert verify([contact(phone="+1 312-345-6780")], CALLER, "JP") == []


# -- rank ----------------------------------------------------------------------------------------------------------

def test_contact_comes_before_account_before_lead():
    ordered = rank([lead(), account(), contact()])
    assert [c.record_type for c in ordered] == ["Contact", "Account", "Lead"]


def test_priority_is_configurable():
    ordered = rank([lead(), account(), contact()], priority=("Lead", "Contact", "Account"))
    assert [c.record_type for c in ordered] == ["Lead", "Contact", "Account"]


def test_type_missing_from_priority_goes_last():
    ordered = rank([lead(), contact()], priority=("Contact",))
    assert [c.record_type for c in ordered] == ["Contact", "Lead"]


def test_most_recently_modified_first_within_a_type():
    older = contact(record_id=CONTACT_ID, modified=NOW - timedelta(days=3))
    newer = contact(record_id=CONTACT_2_ID, modified=NOW)
    assert ids(rank([older, newer])) == [CONTACT_2_ID, CONTACT_ID]


def test_type_priority_beats_recency():
    assert ids(rank([lead(modified=NOW), contact(modified=NOW - timedelta(days=365))])) == [CONTACT_ID, LEAD_ID]


def test_salesforce_timestamp_text_orders_like_datetimes():
    older = lead(record_id=LEAD_ID, modified="2024-04-30T09:00:00.000+0000")
    newer = lead(record_id=LEAD_2_ID, modified="2024-05-01T08:00:00.000+0900")  # 2024-04-30T23:00Z
    assert ids(rank([older, newer])) == [LEAD_2_ID, LEAD_ID]


def test_missing_or_unreadable_modified_date_sorts_after_known_ones():
    unknown = contact(record_id=CONTACT_ID, modified="yesterday")
    known = contact(record_id=CONTACT_2_ID, modified=NOW - timedelta(days=900))
    assert ids(rank([unknown, known])) == [CONTACT_2_ID, CONTACT_ID]


def test_exact_tie_is_broken_by_id_so_the_order_never_flips():
    first = contact(record_id=CONTACT_ID)
    second = contact(record_id=CONTACT_2_ID)
    assert ids(rank([second, first])) == ids(rank([first, second])) == [CONTACT_ID, CONTACT_2_ID]


def test_naive_and_aware_timestamps_compare():
    naive = contact(record_id=CONTACT_ID, modified=datetime(2024, 5, 1, 13, 0))
    aware = contact(record_id=CONTACT_2_ID, modified=NOW)
    assert ids(rank([aware, naive])) == [CONTACT_ID, CONTACT_2_ID]


# -- decide --------------------------------------------------------------------------------------------------------

def test_no_verified_record_is_the_no_match_state():
    assert decide([], remembered_pick=CONTACT_ID) == Decision("none", ())


def test_one_verified_record_shows_its_card():
    decision = decide([contact()], remembered_pick=None)
    assert (decision.kind, decision.record.record_id) == ("single", CONTACT_ID)


def test_one_record_is_shown_even_when_another_was_remembered():
    decision = decide([lead()], remembered_pick=CONTACT_ID)
    assert (decision.kind, decision.record.record_id) == ("single", LEAD_ID)


def test_inbound_call_with_two_contacts_waits_for_a_pick():
    candidates = rank([contact(record_id=CONTACT_ID), contact(record_id=CONTACT_2_ID)])
    decision = decide(candidates, remembered_pick=None)
    assert decision.kind == "several"
    assert decision.record is None
    assert ids(decision.candidates) == [CONTACT_ID, CONTACT_2_ID]


def test_remembered_pick_still_matching_opens_directly():
    candidates = rank([contact(), account(), lead()])
    decision = decide(candidates, remembered_pick=LEAD_ID)
    assert (decision.kind, decision.record.record_id) == ("remembered", LEAD_ID)
    assert ids(decision.candidates) == [CONTACT_ID, ACCOUNT_ID, LEAD_ID]


def test_remembered_pick_stored_with_a_fifteen_character_id_still_opens():
    decision = decide(rank([contact(), lead()]), remembered_pick=LEAD_ID[:15])
    assert (decision.kind, decision.record.record_id) == ("remembered", LEAD_ID)


def test_remembered_pick_whose_number_changed_falls_back_to_the_pick_list():
    lead_with_new_number = lead(phone="03-9999-0000")
    verified = rank(verify([contact(), account(), lead_with_new_number], CALLER, "JP"))
    decision = decide(verified, remembered_pick=LEAD_ID)
    assert decision.kind == "several"
    assert ids(decision.candidates) == [CONTACT_ID, ACCOUNT_ID]


def test_remembered_pick_that_was_converted_falls_back_to_the_pick_list():
    verified = rank(verify([contact(), account(), lead(converted=True)], CALLER, "JP"))
    assert decide(verified, remembered_pick=LEAD_ID).kind == "several"


def test_verify_rank_decide_from_mixed_sosl_and_recent_rows():
    rows = [
        lead(phone="0312345678"),
        contact(record_id=CONTACT_2_ID, phone="+81 3-1234-5678", modified=NOW - timedelta(days=1)),
        contact(record_id=CONTACT_ID, phone="03-1234-5678", modified=NOW),
        contact(record_id=CONTACT_ID, phone="03-1234-5678", modified=NOW),
        account(phone="03-1234-5670"),
    ]
    decision = decide(rank(verify(rows, "+81312345678", "JP")), remembered_pick=None)
    assert decision.kind == "several"
    assert ids(decision.candidates) == [CONTACT_ID, CONTACT_2_ID, LEAD_ID]


@pytest.mark.parametrize(("a", "b", "same"), [
    (CONTACT_ID, CONTACT_ID, True), (CONTACT_ID, CONTACT_ID[:15], True), (CONTACT_ID, CONTACT_2_ID, False),
    (CONTACT_ID, None, False), ("", "", False), (None, None, False),
])
def test_same_record_compares_ids_in_both_lengths(a, b, same):
    assert same_record(a, b) is same
