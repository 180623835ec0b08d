"""Duplicate rules (`POST /_admin/org {"duplicate_rules": [...]}`): a Lead or Contact saved with the values of an
existing one answers DUPLICATES_DETECTED with the matching records, in Salesforce's body; an alert rule lets the
save through with `Sforce-Duplicate-Rule-Header: allowSave=true`, a blocking rule never."""

from __future__ import annotations

from panel.localorg import seed

MATSUMOTO = seed.IDS["lead.matsumoto_daisuke"]
KIMURA = seed.IDS["lead.kimura_takuya"]
YAMADA = seed.IDS["contact.yamada_taro"]
LEAD_RULE = {"object": "Lead", "match": ["LastName", "Company"], "action": "block"}
EMAIL_RULE = {"object": "Contact", "match": ["Email"], "action": "alert"}
ALLOW = {"Sforce-Duplicate-Rule-Header": "allowSave=true; includeRecordDetails=true; runAsCurrentUser=true"}


def create(api, sobject: str, body: dict, headers: dict | None = None):
    return api.post(f"{api.base}/sobjects/{sobject}", json=body, headers=headers or {}, timeout=10)


def lead_count(api) -> int:
    return api.get(f"{api.base}/query", params={"q": "SELECT COUNT() FROM Lead"}, timeout=10).json()["totalSize"]


def test_a_lead_matching_a_blocking_rule_is_refused_with_the_existing_record(api, localorg):
    localorg.admin("org", duplicate_rules=[LEAD_RULE])
    before = lead_count(api)
    refused = create(api, "Lead", {"LastName": "松本", "FirstName": "健", "Company": "名古屋精機株式会社"})
    assert refused.status_code == 400
    [error] = refused.json()
    assert error["errorCode"] == "DUPLICATES_DETECTED" and error["message"]
    result = error["duplicateResult"]
    assert result["allowSave"] is False and result["duplicateRuleEntityType"] == "Lead"
    assert result["duplicateRule"] and result["errorMessage"] == error["message"]
    [match] = result["matchResults"]
    assert (match["entityType"], match["size"], match["success"], match["errors"]) == ("Lead", 1, True, [])
    assert match["rule"] and match["matchEngine"]
    [record] = match["matchRecords"]
    assert record["matchConfidence"] == 100.0
    assert record["record"] == {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{MATSUMOTO}"},
                                "Id": MATSUMOTO}  # without includeRecordDetails, the Id only
    assert lead_count(api) == before


def test_the_match_is_exact_but_not_case_sensitive_and_blank_fields_match_nothing(api, localorg):
    localorg.admin("org", duplicate_rules=[{"object": "Contact", "match": ["Email"], "action": "block"}])
    refused = create(api, "Contact", {"LastName": "山田", "Email": "TARO.Yamada@yamada-shoji.example.jp"})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "DUPLICATES_DETECTED"
    assert create(api, "Contact", {"LastName": "山田", "Email": "taro.yamada@yamada-shoji.example.com"}).status_code == 201
    assert create(api, "Contact", {"LastName": "山田"}).status_code == 201  # no e-mail: nothing to match
    assert create(api, "Contact", {"LastName": "山田"}).status_code == 201


def test_include_record_details_returns_the_fields_of_the_duplicate(api, localorg):
    localorg.admin("org", duplicate_rules=[LEAD_RULE])
    refused = create(api, "Lead", {"LastName": "松本", "Company": "名古屋精機株式会社"},
                     {"Sforce-Duplicate-Rule-Header": "includeRecordDetails=true"})
    record = refused.json()[0]["duplicateResult"]["matchResults"][0]["matchRecords"][0]["record"]
    assert (record["Id"], record["Name"], record["Company"], record["Phone"]) == (
        MATSUMOTO, "松本 大輔", "名古屋精機株式会社", "052-123-4567")


def test_an_alert_rule_saves_with_allow_save_and_a_blocking_rule_never(api, localorg):
    localorg.admin("org", duplicate_rules=[EMAIL_RULE, LEAD_RULE])
    body = {"LastName": "山田", "Email": "taro.yamada@yamada-shoji.example.jp"}
    alerted = create(api, "Contact", body)
    assert alerted.status_code == 400 and alerted.json()[0]["duplicateResult"]["allowSave"] is True
    assert create(api, "Contact", body, ALLOW).status_code == 201
    blocked = create(api, "Lead", {"LastName": "松本", "Company": "名古屋精機株式会社"}, ALLOW)
    assert blocked.status_code == 400 and blocked.json()[0]["duplicateResult"]["allowSave"] is False


def test_duplicate_rules_run_on_update_too_but_a_record_never_matches_itself(api, localorg):
    localorg.admin("org", duplicate_rules=[LEAD_RULE])
    assert api.patch(f"{api.base}/sobjects/Lead/{MATSUMOTO}", json={"Title": "部長"}, timeout=10).status_code == 204
    refused = api.patch(f"{api.base}/sobjects/Lead/{KIMURA}",
                        json={"LastName": "松本", "Company": "名古屋精機株式会社"}, timeout=10)
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "DUPLICATES_DETECTED"


def test_a_composite_subrequest_carries_the_header_in_its_http_headers(api, localorg):
    localorg.admin("org", duplicate_rules=[EMAIL_RULE])
    sub = {"method": "POST", "referenceId": "new", "url": "/services/data/v62.0/sobjects/Contact",
           "body": {"LastName": "山田", "Email": "taro.yamada@yamada-shoji.example.jp"}}
    plain = api.post(f"{api.base}/composite", json={"compositeRequest": [sub]}, timeout=10).json()
    assert plain["compositeResponse"][0]["httpStatusCode"] == 400
    assert plain["compositeResponse"][0]["body"][0]["errorCode"] == "DUPLICATES_DETECTED"
    allowed = api.post(f"{api.base}/composite", json={"compositeRequest": [{**sub, "httpHeaders": ALLOW}]},
                       timeout=10).json()
    assert allowed["compositeResponse"][0]["httpStatusCode"] == 201
    bad = api.post(f"{api.base}/composite", json={"compositeRequest": [{**sub, "httpHeaders": ["x"]}]}, timeout=10)
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_before_api_52_the_header_is_not_read(api, localorg):
    localorg.admin("org", duplicate_rules=[EMAIL_RULE])
    answer = api.post(api.base.replace("v62.0", "v51.0") + "/sobjects/Contact", headers=ALLOW, timeout=10,
                      json={"LastName": "山田", "Email": "taro.yamada@yamada-shoji.example.jp"})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "DUPLICATES_DETECTED"


def test_without_rules_duplicates_are_saved(api, localorg):
    assert create(api, "Lead", {"LastName": "松本", "Company": "名古屋精機株式会社"}).status_code == 201
