"""Contract suite targets: the local org always, and a real Salesforce org when credentials are in the environment.

Every test in tests/contract runs once per target (`contract_org` is parametrized over "local" and "real"). The
real target is skipped unless one of these is set:

| variables | how the suite gets a session |
|---|---|
| `SF_CONTRACT_INSTANCE_URL` + `SF_CONTRACT_ACCESS_TOKEN` | uses that token as is |
| `SF_CONTRACT_LOGIN_URL` (My Domain URL) + `SF_CONTRACT_CLIENT_ID` + `SF_CONTRACT_CLIENT_SECRET` | client credentials flow |

`SF_CONTRACT_API_VERSION` picks the API version (default 62.0). Tests against a real org create only records whose
names start with `PanelContract` and delete them afterwards; use a sandbox or a developer org.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
import requests
from simple_salesforce import Salesforce

from panel.salesforce.http import SalesforceSession
from tests.conftest import API_VERSION

MARKER = "PanelContract"


@dataclass
class ContractOrg:
    """One org under contract: raw HTTP helpers plus simple-salesforce, and cleanup of what tests create."""

    name: str
    instance_url: str
    access_token: str
    version: str
    created: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_local(self) -> bool:
        return self.name == "local"

    def url(self, path: str) -> str:
        return f"{self.instance_url}/services/data/v{self.version}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.access_token if token is None else token}",
                   **kwargs.pop("headers", {})}
        target = path if path.startswith("http") else (
            f"{self.instance_url}{path}" if path.startswith("/services/") else self.url(path))
        return requests.request(method, target, headers=headers, timeout=30, **kwargs)

    def sf(self) -> Salesforce:
        return Salesforce(instance_url=self.instance_url, session_id=self.access_token, version=self.version,
                          session=SalesforceSession(self.instance_url))

    def create(self, sobject: str, body: dict) -> str:
        answer = self.request("POST", f"sobjects/{sobject}", json=body)
        assert answer.status_code == 201, answer.text
        self.created.append((sobject, answer.json()["id"]))
        return answer.json()["id"]

    def cleanup(self) -> None:
        for sobject, record_id in reversed(self.created):
            self.request("DELETE", f"sobjects/{sobject}/{record_id}")


def _real_org() -> ContractOrg | None:
    version = os.environ.get("SF_CONTRACT_API_VERSION", API_VERSION)
    if os.environ.get("SF_CONTRACT_INSTANCE_URL") and os.environ.get("SF_CONTRACT_ACCESS_TOKEN"):
        return ContractOrg("real", os.environ["SF_CONTRACT_INSTANCE_URL"].rstrip("/"),
                           os.environ["SF_CONTRACT_ACCESS_TOKEN"], version)
    login = os.environ.get("SF_CONTRACT_LOGIN_URL")
    if login and os.environ.get("SF_CONTRACT_CLIENT_ID") and os.environ.get("SF_CONTRACT_CLIENT_SECRET"):
        token = requests.post(f"{login.rstrip('/')}/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": os.environ["SF_CONTRACT_CLIENT_ID"],
            "client_secret": os.environ["SF_CONTRACT_CLIENT_SECRET"]}, timeout=30)
        token.raise_for_status()
        return ContractOrg("real", token.json()["instance_url"], token.json()["access_token"], version)
    return None


@pytest.fixture(params=["local", "real"])
def contract_org(request):
    if request.param == "local":
        localorg = request.getfixturevalue("localorg")
        token = localorg.client_credentials_token()
        org = ContractOrg("local", token["instance_url"], token["access_token"], API_VERSION)
    else:
        org = _real_org()
        if org is None:
            pytest.skip("no real org configured (see tests/contract/conftest.py)")
    yield org
    org.cleanup()


@pytest.fixture
def needs_soql(contract_org):
    """Query tests need the local org's SOQL engine; a real org always has one."""
    if contract_org.is_local:
        pytest.importorskip("panel.localorg.soql")
    return contract_org
