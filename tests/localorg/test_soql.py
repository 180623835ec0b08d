"""The local org's SOQL engine, run directly over a seeded store: what it accepts, refuses and answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from simple_salesforce import format_soql

from panel.localorg import records, seed, soql
from panel.localorg.errors import ApiError
from tests.localorg.orgdata import NOW, TOKYO, put, seeded_store

YAMADA = seed.IDS["contact.yamada_taro"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return seeded_store(tmp_path_factory.mktemp("soql") / "org.sqlite3")


@pytest.fixture
def fresh(tmp_path):
    return seeded_store(tmp_path / "org.sqlite3")


def run(store, text: str, *, now=NOW, **kw) -> soql.QueryResult:
    return soql.run_query(text, store, now=now, tz=TOKYO, **kw)


def refused(store, text: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        run(store, text)
    return caught.value


def names(result: soql.QueryResult) -> list:
    return [record["Name"] for record in result.records]


# -- what the parser accepts and refuses ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "SELECT Id FROM Contact",
    "select id, name from contact where name != null order by name asc nulls last limit 5 offset 1",
    "SELECT Id FROM Contact WHERE (Name = 'a' OR Name = 'b') AND Email = null",
    "SELECT Id FROM Contact WHERE NOT (Name = 'a' OR Name = 'b')",
    "SELECT Id FROM Contact WHERE Name IN ('a', 'b') AND Id NOT IN ('0035g000000000FAAQ')",
    "SELECT Id FROM Task WHERE ActivityDate >= LAST_N_DAYS:30 AND CreatedDate < 2026-11-22T10:00:00+09:00",
    "SELECT Id FROM Task WHERE CreatedDate > 2026-11-22T10:00:00Z AND CallDurationInSeconds >= -1.5",
    "SELECT Contact.Name FROM Contact",
    "SELECT Id, (SELECT Subject FROM Tasks WHERE IsClosed = false ORDER BY ActivityDate DESC LIMIT 3) FROM Contact",
    "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Email != null)",
])
def test_supported_syntax_is_accepted(store, text):
    run(store, text)


@pytest.mark.parametrize("text, named", [
    ("SELECT Name, COUNT(Id) FROM Contact GROUP BY Name", "aggregate function COUNT()"),
    ("SELECT Id FROM Contact GROUP BY Name", "GROUP BY"),
    ("SELECT SUM(Amount) FROM Opportunity", "aggregate function SUM()"),
    ("SELECT FIELDS(ALL) FROM Contact LIMIT 200", "FIELDS()"),
    ("SELECT TYPEOF What WHEN Account THEN Name END FROM Task", "TYPEOF"),
    ("SELECT Id FROM Contact FOR UPDATE", "FOR UPDATE"),
    ("SELECT Id FROM Contact WITH SECURITY_ENFORCED", "WITH"),
    ("SELECT Id FROM Contact USING SCOPE mine", "USING SCOPE"),
    ("SELECT Id FROM Contact c", "object alias"),
    ("SELECT Name n FROM Contact", "field alias"),
    ("SELECT Id FROM Contact WHERE toLabel(LeadSource) = 'Web'", "toLabel()"),
    ("SELECT Id FROM Contact WHERE CALENDAR_YEAR(CreatedDate) = 2026", "CALENDAR_YEAR()"),
    ("SELECT Id FROM Contact WHERE Name = :name", "bind variable"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = THIS_FISCAL_YEAR", "THIS_FISCAL_YEAR"),
    ("SELECT Id FROM Contact WHERE LeadSource INCLUDES ('Web')", "INCLUDES"),
    ("SELECT Id, (SELECT Id, (SELECT Id FROM Tasks) FROM Contacts) FROM Account", "subquery inside a subquery"),
    ("SELECT Id FROM Contact WHERE Name = 'a' AND Email = 'b' OR Phone = 'c'", "mixing AND and OR"),
    ("SELECT Id FROM Contact WHERE Name = 'a' OR Email = 'b' AND Phone = 'c'", "mixing AND and OR"),
    ("SELECT Id, Name FROM Contact, Account", "several objects"),
    ("SELECT COUNT(), Name FROM Contact", "COUNT() must be the only item"),
    ("SELECT COUNT() FROM Contact ORDER BY Name", "ORDER BY cannot be used with COUNT()"),
    ("SELECT Id, Name, name FROM Contact", "duplicate field selected: Name"),
    ("SELECT Id FROM Contact WHERE Name = \"x\"", "single quotes"),
    ("SELECT Id FROM Contact WHERE Name = 'unterminated", "expecting '''"),
    ("SELECT Id FROM Contact WHERE Name = 'bad \\q escape'", "Illegal character sequence"),
    ("DELETE FROM Contact", "starts with SELECT"),
])
def test_unsupported_or_malformed_syntax_answers_malformed_query_naming_it(store, text, named):
    error = refused(store, text)
    assert (error.status, error.error_code) == (400, "MALFORMED_QUERY")
    assert named in error.message


@pytest.mark.parametrize("text, code, message", [
    ("SELECT Foo FROM Contact", "INVALID_FIELD", "No such column 'Foo' on entity 'Contact'"),
    ("SELECT Account.Foo FROM Contact", "INVALID_FIELD", "No such column 'Foo' on entity 'Account'"),
    ("SELECT Boss.Name FROM Contact", "INVALID_FIELD", "Didn't understand relationship 'Boss' in field path"),
    ("SELECT Who.Department FROM Task", "INVALID_FIELD", "No such column 'Department' on entity 'Name'"),
    ("SELECT Who.Account.Name FROM Task", "INVALID_FIELD", "Didn't understand relationship 'Account'"),
    ("SELECT Id FROM Contact WHERE Nmae = 'x'", "INVALID_FIELD", "No such column 'Nmae'"),
    ("SELECT Id FROM Foo", "INVALID_TYPE", "sObject type 'Foo' is not supported."),
    ("SELECT Id, (SELECT Id FROM Widgets) FROM Contact", "INVALID_TYPE", "Didn't understand relationship 'Widgets'"),
    ("SELECT Id FROM OpenActivity", "INVALID_TYPE_FOR_OPERATION", "entity type OpenActivity does not support query"),
    ("SELECT Id FROM Contact WHERE Id = '003xyz'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: 003xyz"),
    ("SELECT Id FROM Task WHERE WhoId IN ('nope')", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: nope"),
    ("SELECT Id FROM Task WHERE ActivityDate = 2026-11-22T00:00:00Z", "INVALID_FIELD",
     "field 'ActivityDate' must be of type date and should not be enclosed in quotes"),
    ("SELECT Id FROM Task WHERE CreatedDate > 2026-11-22", "INVALID_FIELD",
     "field 'CreatedDate' must be of type dateTime"),
    ("SELECT Id FROM Task WHERE ActivityDate = '2026-11-22'", "INVALID_FIELD", "must be of type date"),
    ("SELECT Id FROM Task WHERE IsClosed = 'true'", "INVALID_FIELD", "must be of type boolean"),
    ("SELECT Id FROM Contact WHERE Name = 5", "INVALID_FIELD", "must be of type string and should be enclosed"),
    ("SELECT Id FROM Task WHERE CallDurationInSeconds = '5'", "INVALID_FIELD", "must be of type integer"),
    ("SELECT Id FROM Contact WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
    ("SELECT Id FROM Contact ORDER BY Description", "INVALID_FIELD", "can not be sorted"),
    ("SELECT Id FROM Task WHERE ActivityDate LIKE '2026%'", "INVALID_QUERY_FILTER_OPERATOR", "invalid operator"),
    ("SELECT Id FROM Task WHERE IsClosed > false", "INVALID_QUERY_FILTER_OPERATOR", "invalid operator"),
    ("SELECT Id FROM Contact LIMIT 10 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"),
])
def test_bad_names_and_values_answer_salesforces_error_codes(store, text, code, message):
    error = refused(store, text)
    assert error.error_code == code
    assert message in error.message


def test_errors_point_at_the_offending_token_like_salesforce(store):
    error = refused(store, "SELECT Id, Foo FROM Contact")
    assert error.message.splitlines()[1:4] == ["SELECT Id, Foo FROM Contact", "           ^",
                                               "ERROR at Row:1:Column:12"]


# -- evaluation ----------------------------------------------------------------------------------------------------

def test_records_carry_attributes_and_fields_in_select_order_with_canonical_names(store):
    result = run(store, f"select phone, NAME, account.name, id from CONTACT where id = '{YAMADA}'",
                 api_version="58.0")
    assert result.sobject == "Contact" and result.total_size == 1
    record = result.records[0]
    assert list(record) == ["attributes", "Phone", "Name", "Account", "Id"]
    assert record["attributes"] == {"type": "Contact", "url": f"/services/data/v58.0/sobjects/Contact/{YAMADA}"}
    assert record["Account"]["Name"] == "株式会社山田商事"
    assert record["Account"]["attributes"]["type"] == "Account"


def test_a_15_character_id_matches_the_stored_18_character_one(store):
    for literal in (YAMADA[:15], YAMADA):
        assert [r["Id"] for r in run(store, f"SELECT Id FROM Contact WHERE Id = '{literal}'").records] == [YAMADA]


def test_parent_paths_nest_and_a_missing_parent_is_null(store):
    result = run(store, "SELECT Name, Account.Name, Account.Owner.Name FROM Contact "
                        f"WHERE Id IN ('{YAMADA}', '{seed.IDS['contact.no_account']}') ORDER BY Account.Name")
    no_account, yamada = result.records
    assert no_account["Account"] is None
    assert yamada["Account"]["Owner"]["Name"] == "佐藤 花子"
    assert yamada["Account"]["Owner"]["attributes"]["type"] == "User"


def test_polymorphic_who_and_what_expose_name_fields_typed_as_name(store):
    task_id = seed.IDS["task.matsumoto_lead_call"]
    record = run(store, f"SELECT Who.Name, Who.Type, Who.Email, What.Name FROM Task WHERE Id = '{task_id}'").records[0]
    assert record["Who"]["attributes"] == {"type": "Name",
                                           "url": f"/services/data/v62.0/sobjects/Lead/{seed.IDS['lead.matsumoto_daisuke']}"}
    assert (record["Who"]["Name"], record["Who"]["Type"], record["Who"]["Email"]) == ("松本 大輔", "Lead", None)
    assert record["What"] is None


def test_filtering_on_a_polymorphic_type_and_parent_field(store):
    result = run(store, "SELECT Id FROM Task WHERE Who.Type = 'Lead' AND Who.Name LIKE '%松本%'")
    assert [r["Id"] for r in result.records] == [seed.IDS["task.matsumoto_lead_call"]]


@pytest.mark.parametrize("where, expected", [
    ("Name LIKE 'ab%'", ["ab", "abc", "AbX"]),
    ("Name LIKE 'a_'", ["ab"]),
    ("Name LIKE '%b%'", ["ab", "abc", "AbX", "x_b"]),
    ("Name LIKE 'x\\_b'", ["x_b"]),
    ("Name LIKE '100\\%'", ["100%"]),
    ("Name = 'ABC'", ["abc"]),
    ("Name != 'abc'", ["ab", "AbX", "x_b", "100%", None]),
    ("Name IN ('ab', 'ABX')", ["ab", "AbX"]),
    ("Name NOT IN ('ab', 'abx')", ["abc", "x_b", "100%", None]),
    ("Name = null", [None]),
    ("Name < 'abx'", ["ab", "abc", "100%"]),
    ("NOT Name LIKE 'a%'", ["x_b", "100%", None]),
])
def test_text_filters_are_case_insensitive_and_not_equal_includes_nulls(fresh, where, expected):
    for value in ("ab", "abc", "AbX", "x_b", "100%", None):
        put(fresh, "Account", Name=value or "placeholder", Website=value, AccountNumber="like-case")
    result = run(fresh, f"SELECT Website FROM Account WHERE AccountNumber = 'like-case' AND {where.replace('Name', 'Website')}"
                        " ORDER BY CreatedDate")
    found = [r["Website"] for r in result.records]
    assert sorted(map(str, found)) == sorted(map(str, expected))


@pytest.mark.parametrize("order, expected", [
    ("Website", [None, "a", "B", "c"]),
    ("Website ASC NULLS LAST", ["a", "B", "c", None]),
    ("Website DESC", ["c", "B", "a", None]),
    ("Website DESC NULLS FIRST", [None, "c", "B", "a"]),
])
def test_null_ordering_defaults_like_salesforce(fresh, order, expected):
    for value in ("c", None, "a", "B"):
        put(fresh, "Account", Name="order-case", Website=value)
    result = run(fresh, f"SELECT Website FROM Account WHERE Name = 'order-case' ORDER BY {order}")
    assert [r["Website"] for r in result.records] == expected


def test_order_by_several_fields_and_picklists_in_their_defined_order(store):
    result = run(store, "SELECT Name, StageName FROM Opportunity ORDER BY StageName DESC, Name")
    stages = [r["StageName"] for r in result.records]
    assert stages[0] == "Closed Lost" and stages[-1] == "Prospecting"


@pytest.mark.parametrize("literal, created_hours_before_now, matches", [
    ("TODAY", 0.25, True),  # 00:15 Tokyo today
    ("TODAY", 1, False),  # 23:30 Tokyo yesterday, although the same UTC day
    ("YESTERDAY", 1, True),
    ("LAST_N_DAYS:1", 24, True),
    ("LAST_N_DAYS:1", 25, False),
    ("N_DAYS_AGO:1", 1, True),
    ("THIS_WEEK", 0.25, True),  # 2026-11-22 is a Sunday: the week starts today
    ("LAST_WEEK", 1, True),
    ("THIS_MONTH", 1, True),
    ("LAST_MONTH", 24 * 30, True),
])
def test_date_literals_follow_the_org_time_zone_midnight(fresh, literal, created_hours_before_now, matches):
    created = NOW - timedelta(hours=created_hours_before_now)
    record_id = put(fresh, "Account", at=created, Name="date-literal-case")
    result = run(fresh, f"SELECT Id FROM Account WHERE Name = 'date-literal-case' AND CreatedDate = {literal}")
    assert ([r["Id"] for r in result.records] == [record_id]) is matches


@pytest.mark.parametrize("where, due_offsets", [
    ("ActivityDate = TODAY", [0]),
    ("ActivityDate < TODAY", [-3, -1]),
    ("ActivityDate > TODAY", [2, 5]),
    ("ActivityDate = NEXT_N_DAYS:2", [2]),
    ("ActivityDate = LAST_N_DAYS:3", [-3, -1, 0]),
    ("ActivityDate >= 2026-11-21 AND ActivityDate <= 2026-11-24", [-1, 0, 2]),
])
def test_date_fields_compare_as_dates(fresh, where, due_offsets):
    today = NOW.astimezone(TOKYO).date()
    for offset in (-3, -1, 0, 2, 5):
        put(fresh, "Task", Subject=f"due {offset}", ActivityDate=(today + timedelta(days=offset)).isoformat(),
            Description="date-case")
    put(fresh, "Task", Subject="undated", Description="date-case")
    result = run(fresh, f"SELECT Subject FROM Task WHERE CallObject = null AND {where} AND Subject LIKE 'due%'")
    assert sorted(r["Subject"] for r in result.records) == sorted(f"due {o}" for o in due_offsets)


def test_datetime_literals_with_offsets_compare_as_moments(fresh):
    record_id = put(fresh, "Account", at=datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc), Name="moment-case")
    assert run(fresh, "SELECT Id FROM Account WHERE CreatedDate = 2026-11-22T10:00:00+09:00").records[0]["Id"] == \
        record_id
    assert run(fresh, "SELECT Id FROM Account WHERE Name = 'moment-case' AND "
                      "CreatedDate > 2026-11-22T01:00:00Z").total_size == 0


def test_every_escape_format_soql_produces_round_trips(fresh):
    tricky = ["O'Brien", 'say "hi"', "back\\slash", "line\nbreak", "tab\there", "100%_sure"]
    for value in tricky:
        put(fresh, "Account", Name=value)
    for value in tricky:
        found = run(fresh, format_soql("SELECT Name FROM Account WHERE Name = {}", value))
        assert names(found) == [value]
    liked = run(fresh, format_soql("SELECT Name FROM Account WHERE Name LIKE '{:like}%'", "100%_"))
    assert names(liked) == ["100%_sure"]


def test_count_returns_the_total_without_records(store):
    result = run(store, "SELECT COUNT() FROM Contact WHERE Account.Name LIKE '%山田%'")
    assert (result.total_size, result.records) == (3, [])


def test_limit_and_offset_page_through_ordered_rows(store):
    everyone = names(run(store, "SELECT Name FROM Contact ORDER BY Name"))
    page = names(run(store, "SELECT Name FROM Contact ORDER BY Name LIMIT 3 OFFSET 2"))
    assert page == everyone[2:5]


def test_deleted_rows_only_with_include_deleted(fresh):
    records.delete(fresh, "Contact", YAMADA, seed.IDS["user.agent"])
    text = f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{YAMADA}'"
    assert run(fresh, text).total_size == 0
    assert run(fresh, text, include_deleted=True).records[0]["IsDeleted"] is True


def test_semi_join_selects_parents_of_matching_children(store):
    result = run(store, "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Phone LIKE '06%')")
    assert names(result) == ["株式会社さくら工業"]
    anti = run(store, "SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact)")
    assert "有限会社青空運輸" not in names(anti) and "株式会社北海道フーズ" in names(anti)


# -- child subqueries ----------------------------------------------------------------------------------------------

def test_child_subquery_has_its_own_filter_order_and_limit_and_is_null_when_empty(store):
    morita = seed.IDS["contact.morita_jun"]
    result = run(store, "SELECT Name, (SELECT Subject, ActivityDate FROM Tasks WHERE IsClosed = false "
                        "ORDER BY ActivityDate DESC NULLS LAST LIMIT 2) "
                        f"FROM Contact WHERE Id IN ('{YAMADA}', '{morita}')")
    by_id = {record["attributes"]["url"].rsplit("/", 1)[1]: record for record in result.records}
    yamada, morita_record = by_id[YAMADA], by_id[morita]
    assert yamada["Tasks"]["totalSize"] == 2 and yamada["Tasks"]["done"] is True
    assert [t["Subject"] for t in yamada["Tasks"]["records"]] == ["見積書を送付", "折り返し電話"]
    assert morita_record["Tasks"] is None


def test_contact_roles_and_account_children(store):
    account = seed.IDS["account.yamada_shoji"]
    record = run(store, "SELECT Name, (SELECT Name FROM Contacts ORDER BY Name), (SELECT Name, StageName FROM "
                        f"Opportunities WHERE IsClosed = false) FROM Account WHERE Id = '{account}'").records[0]
    assert record["Contacts"]["totalSize"] == 3
    assert [o["Name"] for o in record["Opportunities"]["records"]] == ["山田商事 コールセンター刷新"]
    roles = run(store, f"SELECT (SELECT Role, Opportunity.Name FROM OpportunityContactRoles ORDER BY Role) "
                       f"FROM Contact WHERE Id = '{YAMADA}'").records[0]["OpportunityContactRoles"]
    assert [r["Role"] for r in roles["records"]] == ["Decision Maker", "Economic Buyer"]


def test_open_activities_are_open_tasks_in_salesforces_default_order(store):
    record = run(store, "SELECT (SELECT Subject, ActivityDate, IsTask FROM OpenActivities LIMIT 10), "
                        "(SELECT Subject, ActivityDate FROM ActivityHistories LIMIT 10) "
                        f"FROM Contact WHERE Id = '{YAMADA}'").records[0]
    open_subjects = [r["Subject"] for r in record["OpenActivities"]["records"]]
    assert open_subjects == ["導入事例の資料を確認", "折り返し電話", "見積書を送付"]  # undated first, then by due date
    assert record["OpenActivities"]["records"][0]["attributes"]["type"] == "OpenActivity"
    history_dates = [r["ActivityDate"] for r in record["ActivityHistories"]["records"]]
    assert history_dates == sorted(history_dates, reverse=True) and len(history_dates) == 2


@pytest.mark.parametrize("subquery, outer_where, named", [
    ("SELECT Subject FROM OpenActivities WHERE IsClosed = false LIMIT 5", f"Id = '{YAMADA}'", "no WHERE"),
    ("SELECT Subject FROM OpenActivities", f"Id = '{YAMADA}'", "LIMIT of 499"),
    ("SELECT Subject FROM ActivityHistories LIMIT 500", f"Id = '{YAMADA}'", "LIMIT of 499"),
    ("SELECT Subject FROM OpenActivities ORDER BY Subject LIMIT 5", f"Id = '{YAMADA}'", "ActivityDate ASC"),
    ("SELECT Subject FROM ActivityHistories ORDER BY ActivityDate ASC LIMIT 5", f"Id = '{YAMADA}'",
     "ActivityDate DESC"),
    ("SELECT Subject FROM OpenActivities LIMIT 5", "Name LIKE '%'", "single record"),
])
def test_activity_views_enforce_salesforces_rules(store, subquery, outer_where, named):
    error = refused(store, f"SELECT Id, ({subquery}) FROM Contact WHERE {outer_where}")
    assert error.error_code == "MALFORMED_QUERY" and named in error.message


def test_activity_views_accept_the_prescribed_order(store):
    record = run(store, "SELECT (SELECT Subject FROM ActivityHistories ORDER BY ActivityDate DESC, "
                        f"LastModifiedDate DESC LIMIT 1) FROM Contact WHERE Id = '{YAMADA}'").records[0]
    assert record["ActivityHistories"]["totalSize"] == 1


def test_the_store_passes_now_as_epoch_seconds_and_the_zone_as_a_name(store):
    result = soql.run_query("SELECT Id FROM Task WHERE ActivityDate = TODAY", store, now=NOW.timestamp(),
                            tz="Asia/Tokyo")
    assert [r["Id"] for r in result.records] == [seed.IDS["task.kimura_lead_followup"]]
