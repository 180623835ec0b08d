"""The shared view helpers: a write Salesforce did not take, as the form shows it; settings read once per app."""

from __future__ import annotations

import pytest

from panel import web
from panel.salesforce.contacts import CreateRejected, FieldProblem
from panel.salesforce.errors import NotFound, SalesforceRequestError, SalesforceUnavailable

FIELDS = {"LastName": "LastName", "Company": "Company"}


def refusal(error: Exception) -> web.Refusal:
    return web.refusal(error, FIELDS, unreachable="try again", refused=lambda message: f"refused: {message}")


def test_a_rejected_record_puts_each_message_next_to_its_field_and_the_rest_on_the_form():
    rejected = CreateRejected([FieldProblem("Company", "required", "REQUIRED_FIELD_MISSING"),
                               FieldProblem("Industry", "no such value", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
                               FieldProblem(None, "a duplicate", "DUPLICATES_DETECTED")])
    assert refusal(rejected) == web.Refusal(422, {"Company": "required", "_form": "no such value a duplicate"})


@pytest.mark.parametrize("error, status, failure", [
    (SalesforceUnavailable("timed out"), 503, "try again"),
    (SalesforceRequestError("bad request", error_code="MALFORMED_QUERY"), 502, "refused: bad request"),
    (NotFound("gone"), 502, "refused: gone"),
])
def test_salesforce_unreachable_or_refusing_the_request_keeps_the_form_with_a_failure(error, status, failure):
    refused = refusal(error)
    assert (refused.status, refused.errors, refused.failure) == (status, {}, failure)
    assert refused.messages("_record") == {"_record": failure}


def test_settings_are_built_once_per_app_until_the_config_changes(app):
    built = []

    def build(config):
        built.append(config["PANEL_DEFAULT_REGION"])
        return object()

    with app.app_context():
        first = web.app_settings(build)
        assert web.app_settings(build) is first and built == ["JP"]
        app.config["PANEL_DEFAULT_REGION"] = "US"
        web.forget_settings(app)
        assert web.app_settings(build) is not first and built == ["JP", "US"]
