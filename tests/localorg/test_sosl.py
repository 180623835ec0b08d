"""SOSL through simple-salesforce: the phone tokenization the local org models, index lag, scopes and refusals."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from panel.localorg import seed

IDS = seed.IDS


def found(sf, sosl: str) -> list[str]:
    return [record["Id"] for record in sf.search(sosl)["searchRecords"]]


def phone_search(sf, term: str) -> list[str]:
    return found(sf, f"FIND {{{term}}} IN PHONE FIELDS RETURNING Contact(Id), Account(Id), Lead(Id)")


@pytest.mark.parametrize("term, record", [
    ("03-1234-5678", "contact.yamada_taro"),  # the same punctuation: a phrase of 03, 1234, 5678
    ("0312345678", "contact.yamada_taro"),  # digits only: the phone field's digits run together
    ('"03 1234 5678"', "contact.yamada_taro"),  # other punctuation, same runs
    ("81323456789", "contact.suzuki_ichiro"),  # stored "+81 3 2345 6789": its digits, with the country code
    ("\\+81 3 2345 6789", "contact.suzuki_ichiro"),
    ("0345678901", "contact.tanaka_kenta"),  # stored "(03)4567-8901"
    ("0356789012", "contact.ito_sakura"),  # stored "03.5678.9012"
    ("0355551234", "contact.watanabe_naoki"),  # stored full-width: NFKC folds it to ASCII digits
    ("０３５５５５１２３４", "contact.watanabe_naoki"),  # a full-width term folds the same way
    ("0312349999", "contact.kobayashi_makoto"),  # stored "03-1234-9999 内線 123": the extension is not digits
    ("81387654321", "contact.kato_megumi"),  # stored "+81 3 8765 4321 ext. 45"
    ("14155550100", "contact.john_smith"),  # stored "+1 (415) 555-0100"
    ("09098765432", None),
])
def test_a_phone_is_found_by_its_own_digits_and_its_own_punctuation(sf, term, record):
    assert phone_search(sf, term) == ([IDS[record]] if record else [])


@pytest.mark.parametrize("term", [
    "312345678",  # the national significant number: no stored digit run is that
    "81312345678",  # the E.164 digits of a number stored nationally
    "0323456789",  # the national form of a number stored internationally
    "031234567",  # a prefix of the digits
])
def test_digits_that_no_stored_form_contains_as_a_whole_find_nothing(sf, term):
    assert IDS["contact.yamada_taro"] not in phone_search(sf, term)
    assert IDS["contact.suzuki_ichiro"] not in phone_search(sf, term)


def test_the_last_group_alone_matches_as_a_token(sf):
    assert IDS["contact.yamada_taro"] in phone_search(sf, "5678")


def test_or_terms_and_a_shared_number_find_every_holder_grouped_by_returning_order(sf):
    hits = found(sf, 'FIND {"06-6123-4567" OR "052-123-4567"} IN PHONE FIELDS RETURNING Lead(Id), Contact(Id)')
    assert hits == [IDS["lead.matsumoto_daisuke"], IDS["contact.yoshida_sho"], IDS["contact.yoshida_aya"],
                    IDS["contact.inoue_yoko"]]


def test_returning_filters_orders_limits_and_reads_parent_fields(sf):
    records = sf.search("FIND {0921234567 OR 0923456789 OR 092-345-6789} IN PHONE FIELDS RETURNING "
                        "Lead(Id, Name WHERE IsConverted = false), Contact(Id, Account.Name ORDER BY Name LIMIT 1)")
    assert [r["attributes"]["type"] for r in records["searchRecords"]] == ["Contact"]
    assert records["searchRecords"][0]["Account"]["Name"] == "山本建設株式会社"


def test_a_new_or_changed_record_is_searchable_only_after_the_index_lag(sf, localorg):
    created = sf.Contact.create({"LastName": "新規", "Phone": "03-7777-8888"})["id"]
    assert phone_search(sf, "0377778888") == []
    localorg.admin("clock", advance_s=61)
    assert phone_search(sf, "0377778888") == [created]
    sf.Contact.update(created, {"Title": "課長"})
    assert phone_search(sf, "0377778888") == []  # re-indexing hides it again for a while
    localorg.admin("clock", advance_s=61)
    assert phone_search(sf, "0377778888") == [created]


def test_name_fields_and_cjk_substrings(sf):
    assert IDS["account.yamada_shoji"] in found(sf, "FIND {山田} IN NAME FIELDS RETURNING Account(Id)")
    assert found(sf, "FIND {0312345678} IN NAME FIELDS RETURNING Contact(Id)") == []
    by_email = found(sf, "FIND {taro.yamada@yamada-shoji.example.jp} IN EMAIL FIELDS RETURNING Contact(Id)")
    assert by_email == [IDS["contact.yamada_taro"]]


def test_parameterized_search_takes_the_same_options_as_json(localorg, sf):
    answer = sf.restful("parameterizedSearch", method="POST", json={
        "q": "0312345678", "in": "PHONE", "sobjects": [{"name": "Contact", "fields": ["Id", "Name"]}]})
    assert [(r["Id"], r["Name"]) for r in answer["searchRecords"]] == [(IDS["contact.yamada_taro"], "山田 太郎")]


@pytest.mark.parametrize("sosl, named", [
    ("FIND {山田} IN ALL FIELDS RETURNING Contact(Id) WITH SNIPPET", "WITH"),
    ("FIND {山田} IN SIDEBAR FIELDS RETURNING Contact(Id)", "SIDEBAR"),
    ("FIND {山田} RETURNING Contact(Id WHERE toLabel(Salutation) = 'Mr.')", "toLabel"),
    ("FIND {山田} RETURNING Contact(Id LIMIT 5 OFFSET 5)", "OFFSET"),
    ("FIND {*田} RETURNING Contact(Id)", "wildcard"),
    ("FIND {山田 RETURNING Contact(Id)", "braces"),
    ("FIND {\"山田} RETURNING Contact(Id)", "quotes"),
    ("FIND {(山田} RETURNING Contact(Id)", "parentheses"),
    ("FIND {a} RETURNING Contact(Id)", "longer than one character"),
    ("SELECT Id FROM Contact", "FIND"),
])
def test_unsupported_or_malformed_search_answers_malformed_search_naming_it(sf, sosl, named):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.search(sosl)
    error = refused.value.content[0]
    assert error["errorCode"] == "MALFORMED_SEARCH" and named.lower() in error["message"].lower()


@pytest.mark.parametrize("sosl, code", [
    ("FIND {山田} RETURNING Nothing__c(Id)", "INVALID_TYPE"),
    ("FIND {山田} RETURNING Contact(NoSuchField)", "INVALID_FIELD"),
])
def test_unknown_objects_and_fields_in_returning(sf, sosl, code):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.search(sosl)
    assert refused.value.content[0]["errorCode"] == code
