"""An edition without API access (issue 14, item 12): the answer the panel recognises. Salesforce documents the
errorCode (REST API Developer Guide, "Supported Editions and Required Permissions": "If you send an API request to
an org without API access, Salesforce returns a API_DISABLED_FOR_ORG error") and 403 for a refused request
("Status Codes and Error Responses"). A real org with API access cannot be made to answer it, so this runs against
the local org in that shape only."""

from __future__ import annotations

import pytest


def test_every_rest_call_answers_api_disabled_for_org_in_salesforces_error_shape(request, contract_org):
    if not contract_org.is_local:
        pytest.skip("a real org with API access never answers API_DISABLED_FOR_ORG")
    request.getfixturevalue("localorg").admin("org", api_enabled=False)
    for method, path in (("GET", "query?q=SELECT+Id+FROM+Contact"), ("GET", "sobjects/Contact/describe"),
                         ("POST", "composite")):
        answer = contract_org.request(method, path, json={"compositeRequest": []} if method == "POST" else None)
        assert answer.status_code == 403
        (error,) = answer.json()
        assert error["errorCode"] == "API_DISABLED_FOR_ORG" and error["message"] and error["fields"] == []
