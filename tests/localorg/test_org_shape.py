"""`POST /_admin/org` shapes the org as its admin configured it: each key changes only its aspect, wrong input is a
400 naming the key, and a reset brings back the pristine org."""

from __future__ import annotations

import pytest
import requests

from panel.localorg import org_shape

ISSUE_EXAMPLE = {
    "person_accounts": True,
    "custom_phone_fields": ["Contact.Phone2__c", "Account.Support_Phone__c"],
    "encrypted_fields": ["Contact.MobilePhone"],
    "object_access": {"agent2@example.com": {"Lead": "none"}},
    "duplicate_rules": [{"object": "Lead", "match": ["LastName", "Company"], "action": "block"},
                        {"object": "Contact", "match": ["Email"], "action": "alert"}],
    "task_statuses": [{"label": "未着手", "closed": False, "default": True},
                      {"label": "対応中", "closed": False},
                      {"label": "完了済み", "closed": True}],
    "refresh_token_rotation": True,
    "archive_after_days": 365,
    "shared_activities": True,
    "api_enabled": False,
}


def post_org(localorg, payload) -> requests.Response:
    return requests.post(f"{localorg.url}/_admin/org", json=payload, timeout=10)


def shape(localorg) -> org_shape.OrgShape:
    return org_shape.from_store(localorg.app.extensions["localorg"].store)


def test_a_fresh_org_has_none_of_the_admin_settings_on(localorg):
    assert shape(localorg) == org_shape.DEFAULT
    answer = post_org(localorg, {})
    assert answer.status_code == 200
    assert answer.json() == org_shape.to_json(org_shape.DEFAULT)
    assert answer.json()["api_enabled"] is True and answer.json()["task_statuses"] == []


def test_the_whole_example_of_the_contract_is_accepted_and_kept(localorg):
    answer = post_org(localorg, ISSUE_EXAMPLE)
    assert answer.status_code == 200, answer.text
    kept = shape(localorg)
    assert kept.person_accounts and kept.refresh_token_rotation and not kept.api_enabled
    assert kept.custom_phone_fields == ("Contact.Phone2__c", "Account.Support_Phone__c")
    assert kept.object_access == {"agent2@example.com": {"Lead": "none"}}
    assert kept.duplicate_rules[1] == org_shape.DuplicateRule("Contact", ("Email",), "alert")
    assert [s.label for s in kept.task_statuses if s.closed] == ["完了済み"]
    assert answer.json()["task_statuses"][1] == {"label": "対応中", "closed": False, "default": False}


def test_each_key_changes_only_its_own_aspect(localorg):
    post_org(localorg, {"archive_after_days": 30, "refresh_token_rotation": True})
    post_org(localorg, {"api_enabled": False})
    kept = shape(localorg)
    assert (kept.archive_after_days, kept.refresh_token_rotation, kept.api_enabled) == (30, True, False)


def test_a_reset_restores_the_pristine_org(localorg):
    post_org(localorg, ISSUE_EXAMPLE)
    localorg.admin("reset")
    assert shape(localorg) == org_shape.DEFAULT


@pytest.mark.parametrize("payload, named", [
    ({"person_account": True}, "person_account"),
    ({"api_enabled": "no"}, "api_enabled"),
    ({"archive_after_days": "365"}, "archive_after_days"),
    ({"archive_after_days": 0}, "archive_after_days"),
    ({"custom_phone_fields": ["Contact.Phone2"]}, "custom_phone_fields"),
    ({"custom_phone_fields": ["Nothing.Phone2__c"]}, "custom_phone_fields"),
    ({"encrypted_fields": ["Contact.Nope"]}, "encrypted_fields"),
    ({"object_access": {"agent2@example.com": {"Lead": "maybe"}}}, "object_access"),
    ({"duplicate_rules": [{"object": "Lead", "match": ["Nope"], "action": "block"}]}, "duplicate_rules"),
    ({"duplicate_rules": [{"object": "Lead", "match": ["LastName"], "action": "warn"}]}, "duplicate_rules"),
    ({"task_statuses": [{"label": "Open", "default": True}]}, "task_statuses"),
    ({"task_statuses": [{"label": "A", "closed": True}, {"label": "B"}]}, "task_statuses"),
    ({"task_statuses": "Completed"}, "task_statuses"),
])
def test_a_wrong_key_or_value_is_a_400_naming_the_key_and_changes_nothing(localorg, payload, named):
    post_org(localorg, {"refresh_token_rotation": True})
    answer = post_org(localorg, {"person_accounts": True, **payload})
    assert answer.status_code == 400
    assert named in answer.json()["error"]
    assert shape(localorg) == org_shape.OrgShape(refresh_token_rotation=True)


def test_shared_activities_is_taken_and_given_back_as_a_boolean(localorg):
    assert post_org(localorg, {"shared_activities": "yes"}).status_code == 400
    answer = post_org(localorg, {"shared_activities": True})
    assert answer.status_code == 200 and answer.json()["shared_activities"] is True
    assert shape(localorg) == org_shape.OrgShape(shared_activities=True)


def test_a_body_that_is_not_an_object_is_refused(localorg):
    assert post_org(localorg, [1, 2]).status_code == 400
