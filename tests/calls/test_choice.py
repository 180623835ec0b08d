"""Which record an ended call is logged against (panel.calls.choice): every step of the order, without Salesforce.

The same order runs end to end against the local org in test_call_logging.py; here each rule is pinned on its own.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from panel.callers.matching import Candidate
from panel.calls.choice import Chosen, ToReview, choose_record

YAMADA = Candidate(record_id="003000000000001AAA", record_type="Contact", name="Yamada Taro")
SATO = Candidate(record_id="003000000000002AAA", record_type="Contact", name="Sato Hanako")
ACME = Candidate(record_id="001000000000001AAA", record_type="Account", name="Acme")
LEAD = Candidate(record_id="00Q000000000001AAA", record_type="Lead", name="Suzuki Ichiro")
OPPORTUNITY_ID = "006000000000001AAA"


class Lookups:
    """The number looked up anew, answering `answers` in turn (the last one again when they run out)."""

    def __init__(self, *answers):
        self.answers = list(answers) or [[]]
        self.count = 0

    def __call__(self):
        self.count += 1
        return self.answers[min(self.count, len(self.answers)) - 1]


def never_looked_up():
    raise AssertionError("the number must not be looked up")


def choose(*, note=None, picked=None, remembered=None, seen=None, look_up=never_looked_up):
    picked_during_call = SimpleNamespace(record_id=picked.record_id, record_type=picked.record_type) if picked else None
    return choose_record(note_record_id=note, picked_during_call=picked_during_call, remembered_pick=remembered,
                         matches_seen=seen, look_up=look_up)


# -- 1. the record the agent's note named ---------------------------------------------------------------------------

def test_the_record_the_agents_note_named_wins_over_everything():
    assert choose(note=SATO.record_id, picked=YAMADA, remembered=YAMADA.record_id, seen=[YAMADA]) == \
        Chosen(SATO.record_id, "Contact", "note")


@pytest.mark.parametrize("record_id, record_type", [(ACME.record_id, "Account"), (LEAD.record_id, "Lead"),
                                                    (OPPORTUNITY_ID, "Opportunity")])
def test_a_note_on_any_record_names_its_type(record_id, record_type):
    assert choose(note=record_id) == Chosen(record_id, record_type, "note")


def test_a_note_or_a_pick_decides_without_looking_the_number_up():
    assert choose(note=YAMADA.record_id).source == "note"
    assert choose(picked=YAMADA).source == "call_pick"


# -- 2. the pick made during the call -------------------------------------------------------------------------------

def test_a_pick_during_the_call_wins_over_the_remembered_pick():
    assert choose(picked=SATO, remembered=YAMADA.record_id, seen=[YAMADA, SATO]) == \
        Chosen(SATO.record_id, "Contact", "call_pick")


def test_a_pick_during_the_call_wins_over_a_single_match():
    assert choose(picked=ACME, seen=[YAMADA]) == Chosen(ACME.record_id, "Account", "call_pick")


# -- 3. the remembered pick for the number --------------------------------------------------------------------------

def test_the_remembered_pick_decides_between_several_matches():
    assert choose(remembered=SATO.record_id, seen=[YAMADA, SATO]) == Chosen(SATO.record_id, "Contact", "remembered")


def test_a_remembered_pick_in_its_15_character_form_still_names_its_match():
    assert choose(remembered=SATO.record_id[:15], seen=[YAMADA, SATO]).source == "remembered"


def test_a_remembered_pick_whose_record_lost_the_number_is_not_honoured():
    look_up = Lookups([YAMADA, SATO])
    assert choose(remembered=ACME.record_id, seen=[YAMADA, SATO], look_up=look_up) == ToReview("several")
    assert look_up.count == 1  # looked again before asking a person


# -- 4. the single verified match ----------------------------------------------------------------------------------

def test_a_single_verified_match_is_chosen():
    assert choose(seen=[LEAD]) == Chosen(LEAD.record_id, "Lead", "single")


def test_a_single_match_wins_over_a_remembered_pick_of_another_record():
    assert choose(remembered=SATO.record_id, seen=[YAMADA]) == Chosen(YAMADA.record_id, "Contact", "single")


# -- 5. a person decides ---------------------------------------------------------------------------------------------

def test_several_matches_without_a_pick_go_to_review():
    assert choose(seen=[YAMADA, SATO], look_up=Lookups([YAMADA, SATO])) == ToReview("several")


def test_a_number_nobody_has_goes_to_review():
    assert choose(seen=[], look_up=Lookups([])) == ToReview("none")


# -- which matches: the ones seen during the call, then a fresh look -------------------------------------------------

def test_the_matches_seen_during_the_call_spare_a_lookup():
    assert choose(seen=[YAMADA]).source == "single"


def test_without_matches_seen_during_the_call_the_number_is_looked_up():
    look_up = Lookups([SATO])
    assert choose(look_up=look_up) == Chosen(SATO.record_id, "Contact", "single")
    assert look_up.count == 1


def test_a_record_created_during_the_call_is_found_by_looking_again_before_review():
    look_up = Lookups([YAMADA])
    assert choose(seen=[], look_up=look_up) == Chosen(YAMADA.record_id, "Contact", "single")
    assert look_up.count == 1


def test_a_duplicate_merged_during_the_call_leaves_a_single_match_on_the_second_look():
    assert choose(seen=[YAMADA, SATO], look_up=Lookups([SATO])) == Chosen(SATO.record_id, "Contact", "single")


def test_the_remembered_pick_also_decides_among_the_matches_found_on_the_second_look():
    look_up = Lookups([], [YAMADA, SATO])
    assert choose(remembered=YAMADA.record_id, look_up=look_up) == Chosen(YAMADA.record_id, "Contact", "remembered")
    assert look_up.count == 2
