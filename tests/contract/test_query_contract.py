"""Query and search shapes, paging, and every query string the app issues, against every configured org."""

from __future__ import annotations

import importlib

import pytest

from tests.contract.conftest import MARKER


def test_query_result_shape(needs_soql):
    answer = needs_soql.request("GET", "query", params={"q": "SELECT Id, Name FROM Contact LIMIT 2"})
    body = answer.json()
    assert answer.status_code == 200 and set(body) >= {"totalSize", "done", "records"}
    assert all(list(r)[:1] == ["attributes"] and r["attributes"]["type"] == "Contact" for r in body["records"])


@pytest.mark.parametrize("soql, code", [
    ("SELECT NoSuchField FROM Contact", "INVALID_FIELD"),
    ("SELECT Id FROM", "MALFORMED_QUERY"),
    ("SELECT Id FROM NoSuchObject__c", "INVALID_TYPE"),
])
def test_query_errors(needs_soql, soql, code):
    answer = needs_soql.request("GET", "query", params={"q": soql})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == code


def test_query_pages_with_next_records_url(needs_soql):
    records = [{"attributes": {"type": "Task"}, "Subject": f"{MARKER} page {i}"} for i in range(201)]
    for start in range(0, len(records), 200):
        created = needs_soql.request("POST", "composite/sobjects", json={"records": records[start:start + 200]})
        needs_soql.created += [("Task", r["id"]) for r in created.json()]
    soql = f"SELECT Id FROM Task WHERE Subject LIKE '{MARKER} page %'"
    first = needs_soql.request("GET", "query", params={"q": soql},
                               headers={"Sforce-Query-Options": "batchSize=200"}).json()
    assert first["totalSize"] == 201 and first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{needs_soql.version}/query/")
    second = needs_soql.request("GET", first["nextRecordsUrl"]).json()
    assert second["done"] is True and len(second["records"]) == 1 and "nextRecordsUrl" not in second
    ids = {r["Id"] for r in first["records"] + second["records"]}
    assert len(ids) == 201


def _app_queries() -> list[tuple[str, str]]:
    """Every query string the app issues, from `panel.salesforce.queries.CONTRACT_QUERIES` once the app has it.

    The lead wires this in: `CONTRACT_QUERIES` is an iterable of (name, complete SOQL or SOSL string) pairs built
    with format_soql from representative values. SOSL strings start with FIND.
    """
    try:
        queries = importlib.import_module("panel.salesforce.queries")
    except ImportError:
        return []
    return list(getattr(queries, "CONTRACT_QUERIES", []))


@pytest.mark.parametrize("name, text", _app_queries() or [pytest.param("none", "", marks=pytest.mark.skip(
    reason="panel.salesforce.queries.CONTRACT_QUERIES is not defined yet"))])
def test_every_app_query_is_accepted(needs_soql, name, text):
    resource = "search" if text.lstrip().upper().startswith("FIND") else "query"
    answer = needs_soql.request("GET", resource, params={"q": text})
    assert answer.status_code == 200, f"{name}: {answer.text}"


def test_every_query_builder_has_an_example_in_the_contract_queries():
    """A query function added to panel.salesforce.queries without a CONTRACT_QUERIES example would never be run
    against an org. Loading a private copy of the module while watching which of its functions run shows which
    builders the examples exercise."""
    import inspect
    import sys
    from importlib.util import module_from_spec, spec_from_file_location

    real = importlib.import_module("panel.salesforce.queries")
    spec = spec_from_file_location("_contract_copy_of_queries", real.__file__)
    copy = module_from_spec(spec)
    called: set[str] = set()

    def watch(frame, event, arg):
        if event == "call" and frame.f_code.co_filename == real.__file__:
            called.add(frame.f_code.co_name)

    sys.modules[spec.name] = copy  # dataclasses look their module up there
    sys.setprofile(watch)
    try:
        spec.loader.exec_module(copy)
    finally:
        sys.setprofile(None)
        del sys.modules[spec.name]
    builders = {name for name, value in vars(copy).items()
                if inspect.isfunction(value) and value.__module__ == copy.__name__ and not name.startswith("_")}
    assert builders, "no query builders found"
    assert sorted(builders - called) == [], "query builders without a CONTRACT_QUERIES example"
    assert len({name for name, _ in real.CONTRACT_QUERIES}) == len(real.CONTRACT_QUERIES), "duplicate example names"


def test_no_query_text_is_written_outside_the_queries_module():
    """The contract suite can only vouch for queries kept in panel.salesforce.queries."""
    import pathlib
    import re

    package = pathlib.Path(importlib.import_module("panel").__file__).parent
    soql = re.compile(r"""["']\s*(?:SELECT\s+[\w.,\s()]+\s+FROM\s+[A-Z]\w*|FIND\s*\{)""")
    found = [f"{path.relative_to(package)}:{number}"
             for path in sorted(package.rglob("*.py"))
             if "localorg" not in path.parts and path.name != "queries.py"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if soql.search(line)]
    assert found == []
