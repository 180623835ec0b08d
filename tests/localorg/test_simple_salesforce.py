"""simple-salesforce, exactly as the app builds it, pointed at the local org: paging and usage as it reads them."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from panel.localorg import seed


@pytest.fixture
def tasks_250(sf):
    records = [{"attributes": {"type": "Task"}, "Subject": f"page test {n:03d}"} for n in range(250)]
    for start in (0, 200):
        answer = sf.restful("composite/sobjects", method="POST", json={"records": records[start:start + 200]})
        assert all(item["success"] for item in answer)
    return "SELECT Id, Subject FROM Task WHERE Subject LIKE 'page test %' ORDER BY Subject"


def test_query_pages_by_the_batch_size_header_and_query_more_follows(sf, localorg, tasks_250):
    first = sf.query(tasks_250, headers={"Sforce-Query-Options": "batchSize=200"})
    assert (first["totalSize"], first["done"], len(first["records"])) == (250, False, 200)
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (rest["done"], len(rest["records"])) == (True, 50) and "nextRecordsUrl" not in rest
    subjects = [r["Subject"] for r in first["records"] + rest["records"]]
    assert subjects == sorted(subjects) and len(set(subjects)) == 250
    assert localorg.stats()["endpoints"]["queryMore"] == 1


def test_query_all_with_a_small_batch_reads_every_page(sf, localorg, tasks_250):
    every = sf.query_all(tasks_250, headers={"Sforce-Query-Options": "batchSize=200"})
    assert every["totalSize"] == 250 and len(every["records"]) == 250 and every["done"] is True


def test_a_batch_size_below_200_is_raised_to_200_like_salesforce(sf, tasks_250):
    assert len(sf.query(tasks_250, headers={"Sforce-Query-Options": "batchSize=10"})["records"]) == 200


def test_a_stale_or_forged_locator_is_refused(sf):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query_more("01gAAAAAAAAAAAAAAA-200")
    assert refused.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_simple_salesforce_reads_the_limit_header(sf, localorg):
    sf.query("SELECT Id FROM User LIMIT 1")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (localorg.api_requests(), 15000)


def test_subqueries_and_parent_fields_in_one_query(sf):
    record = sf.query(
        "SELECT Name, Account.Name, Account.Owner.Name, "
        "(SELECT Opportunity.Name, Opportunity.StageName FROM OpportunityContactRoles), "
        "(SELECT Subject, Who.Name FROM Tasks WHERE IsClosed = false ORDER BY ActivityDate ASC NULLS LAST LIMIT 5) "
        f"FROM Contact WHERE Id = '{seed.IDS['contact.yamada_taro']}'")["records"][0]
    assert record["Account"]["Owner"]["Name"] == "佐藤 花子"
    roles = record["OpportunityContactRoles"]["records"]
    assert roles and all(set(r["Opportunity"]) >= {"Name", "StageName"} for r in roles)
    assert all(task["Who"]["Name"] == "山田 太郎" for task in record["Tasks"]["records"])


@pytest.mark.parametrize("soql, named", [
    ("SELECT Name FROM Contact GROUP BY Name", "GROUP BY"),
    ("SELECT Name FROM Contact WITH SECURITY_ENFORCED", "WITH"),
    ("SELECT FORMAT(Name) FROM Contact", "FORMAT"),
    ("SELECT Name FROM Contact USING SCOPE mine", "USING SCOPE"),
])
def test_unsupported_soql_answers_malformed_query_naming_what(sf, soql, named):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(soql)
    error = refused.value.content[0]
    assert error["errorCode"] == "MALFORMED_QUERY" and named in error["message"]
