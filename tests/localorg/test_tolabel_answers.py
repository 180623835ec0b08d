"""toLabel(): picklist values as labels in the requesting user's language (SOQL and SOSL Reference, toLabel())."""

from __future__ import annotations

import pytest
import requests

from panel.localorg.seed import IDS

YAMADA_DEAL = IDS["opportunity.yamada_callcenter"]  # Negotiation/Review
KIMURA = IDS["lead.kimura_takuya"]  # Open - Not Contacted, found by its mobile 080-9876-5432


@pytest.fixture
def agent_api(localorg, sign_in, exchange):
    """A session of 佐藤 花子 (LanguageLocaleKey ja), signed in through the org's sign-in page."""
    token = exchange(sign_in("agent@example.com")).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.base = f"{localorg.url}/services/data/v62.0"
    return session


def query(session, soql: str) -> requests.Response:
    return session.get(f"{session.base}/query", params={"q": soql}, timeout=10)


def test_a_japanese_user_gets_the_stage_label_and_the_api_value_beside_it(agent_api):
    answer = query(agent_api, f"SELECT StageName, toLabel(StageName) stageLabel FROM Opportunity "
                              f"WHERE Id = '{YAMADA_DEAL}'")
    assert answer.status_code == 200, answer.text
    record = answer.json()["records"][0]
    assert record["StageName"] == "Negotiation/Review"
    assert record["stageLabel"] == "交渉/レビュー"


def test_without_an_alias_the_label_takes_the_fields_place_in_parents_and_children_too(agent_api):
    record = query(agent_api, f"SELECT Id, (SELECT toLabel(StageName) FROM Opportunities) FROM Account "
                              f"WHERE Id = '{IDS['account.yamada_shoji']}'").json()["records"][0]
    assert sorted(o["StageName"] for o in record["Opportunities"]["records"]) == ["交渉/レビュー", "成立"]
    role = query(agent_api, f"SELECT toLabel(Opportunity.StageName) FROM OpportunityContactRole "
                            f"WHERE OpportunityId = '{YAMADA_DEAL}' LIMIT 1").json()["records"][0]
    assert role["Opportunity"]["StageName"] == "交渉/レビュー"


def test_an_english_user_gets_the_values_themselves(api):
    record = query(api, f"SELECT toLabel(StageName) FROM Opportunity WHERE Id = '{YAMADA_DEAL}'").json()
    assert record["records"][0]["StageName"] == "Negotiation/Review"  # the integration user: en_US


def test_lead_status_is_labelled_in_soql_and_in_sosl_returning(agent_api):
    soql = query(agent_api, f"SELECT toLabel(Status) FROM Lead WHERE Id = '{KIMURA}'").json()["records"][0]
    assert soql["Status"] == "未対応"
    found = agent_api.get(f"{agent_api.base}/search", params={
        "q": "FIND {08098765432} IN PHONE FIELDS RETURNING Lead(Id, toLabel(Status) WHERE IsConverted = false)"},
        timeout=10)
    assert found.status_code == 200, found.text
    assert [(r["Id"], r["Status"]) for r in found.json()["searchRecords"]] == [(KIMURA, "未対応")]


def test_the_orgs_own_task_statuses_keep_their_labels(localorg, agent_api):
    done_before = f"SELECT toLabel(Status) FROM Task WHERE Id = '{IDS['task.yamada_hearing_done']}'"
    assert query(agent_api, done_before).json()["records"][0]["Status"] == "完了"
    localorg.admin("org", task_statuses=[{"label": "折り返し待ち", "closed": False, "default": True},
                                         {"label": "Completed", "closed": True}])
    created = agent_api.post(f"{agent_api.base}/sobjects/Task", json={"Subject": "折り返し", "WhoId":
                                                                      IDS["contact.yamada_taro"]}, timeout=10)
    labelled = query(agent_api, f"SELECT toLabel(Status) FROM Task WHERE Id = '{created.json()['id']}'").json()
    assert labelled["records"][0]["Status"] == "折り返し待ち"
    done = agent_api.post(f"{agent_api.base}/sobjects/Task", json={"Subject": "済", "Status": "Completed"},
                          timeout=10)
    shown = query(agent_api, f"SELECT toLabel(Status) FROM Task WHERE Id = '{done.json()['id']}'").json()
    assert shown["records"][0]["Status"] == "Completed"  # the admin's value, not Salesforce's translation


@pytest.mark.parametrize("soql, why", [
    ("SELECT StageName, toLabel(StageName) FROM Opportunity", "duplicate field"),
    ("SELECT Id FROM Opportunity ORDER BY toLabel(StageName)", "ORDER BY"),
    ("SELECT Id FROM Opportunity WHERE toLabel(StageName) = '成立'", "toLabel"),
    ("SELECT toLabel(Name) FROM Opportunity", "picklist"),
    ("SELECT toLabel(Account.Industry) industry FROM Contact", "alias"),
])
def test_what_the_local_org_does_not_answer_is_refused_as_malformed(agent_api, soql, why):
    answer = query(agent_api, soql)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "MALFORMED_QUERY" and why in answer.json()[0]["message"]
