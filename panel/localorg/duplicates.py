"""Duplicate rules (the org shape's `duplicate_rules`): saving a Lead or Contact that an existing one matches.

What Salesforce documents, and so what the panel may rely on:

- Duplicate rules run when a record is created, updated or upserted through the API (REST API Developer Guide,
  "Duplicate Rule Header", headers_duplicaterules.htm). A rule whose matching rule finds existing records refuses
  the save with `DUPLICATES_DETECTED`; a rule whose action is "Allow" with an alert lets it through only when the
  request says `Sforce-Duplicate-Rule-Header: allowSave=true`, a "Block" rule never (ibid.: allowSave is
  "applicable if an alert is enabled for the action").
- The header's fields are `allowSave`, `includeRecordDetails` (true: "return all fields in the duplicate record",
  false: its Id only) and `runAsCurrentUser` (sharing rules of the current user); each defaults to false, written
  `allowSave=true; includeRecordDetails=true; runAsCurrentUser=true`; API version 52.0 and later (ibid.). A
  composite subrequest carries it in its own `httpHeaders` (REST API, "Composite Subrequest").
- The error is one entry per rule that stopped the save: `{"duplicateResult": DuplicateResult, "errorCode":
  "DUPLICATES_DETECTED", "message": …}`, where DuplicateResult is `allowSave`, `duplicateRule`,
  `duplicateRuleEntityType`, `errorMessage` and `matchResults`, and each MatchResult `entityType`, `errors`,
  `matchEngine`, `matchRecords`, `rule`, `size`, `success`; each MatchRecord `additionalInformation`, `fieldDiffs`,
  `matchConfidence` and `record` (SOAP API Developer Guide, objects DuplicateResult, MatchResult, MatchRecord,
  DuplicateError; the REST body carries the same names).

The model keeps to a matching rule with the exact matching method on every field of `match`: "determines whether
two strings are the same", and "the fields being compared aren't case sensitive" (Salesforce Help, "Matching
Algorithms Used with Matching Methods", matching_rules_matching_algorithms.htm). A field left blank matches nothing
(the matching rule's "Match blank fields" is off unless an admin turns it on). Fuzzy methods are not modelled. The
local org has no sharing model, so `runAsCurrentUser` changes nothing: every user sees every record.
"""

from __future__ import annotations

from typing import Optional

from flask import g, has_request_context, request

from . import org_shape, schema
from .errors import ApiError
from .store import Store

HEADER = "Sforce-Duplicate-Rule-Header"
FIRST_VERSION = (52, 0)  # the header exists from API 52.0 on; before it, every option is its default (false)
MESSAGE = "Use one of these records?"  # what Salesforce's standard duplicate rules say; the admin may change it
_OPTIONS = ("allowSave", "includeRecordDetails", "runAsCurrentUser")


class DuplicatesDetected(ApiError):
    """The save was stopped by duplicate rules: one `DuplicateResult` per rule, in Salesforce's REST error body."""

    def __init__(self, results: list[dict]) -> None:
        super().__init__(400, "DUPLICATES_DETECTED", results[0]["errorMessage"])
        self.results = results

    def body(self) -> list[dict]:
        return [{"duplicateResult": result, "errorCode": "DUPLICATES_DETECTED", "message": result["errorMessage"]}
                for result in self.results]


def header_options() -> dict[str, bool]:
    """The request's `Sforce-Duplicate-Rule-Header`, every documented field (false unless it says `true`)."""
    options = dict.fromkeys(_OPTIONS, False)
    version = g.get("api_version") or "0.0"
    if tuple(int(part) for part in version.split(".")) < FIRST_VERSION:
        return options
    for part in request.headers.get(HEADER, "").split(";"):
        name, _, value = part.partition("=")
        known = next((option for option in _OPTIONS if option.lower() == name.strip().lower()), None)
        if known is not None:
            options[known] = value.strip().lower() == "true"
    return options


def check(store: Store, obj: schema.SObjectType, record: dict, own_id: Optional[str]) -> None:
    """Raises `DuplicatesDetected` when the org's duplicate rules stop this save of `record` (the record as it
    would be stored: on update, the old values with the new ones over them)."""
    if not has_request_context() or g.get("api_version") is None:
        return  # not an API call (the seed): duplicate rules run on saves through the API and the UI only
    rules = [(number, rule) for number, rule in enumerate(org_shape.current().duplicate_rules, 1)
             if rule.object == obj.name]
    if not rules:
        return
    options = header_options()
    stopped = []
    for number, rule in rules:
        if rule.action == "alert" and options["allowSave"]:
            continue
        found = _matches(store, obj, rule.match, record, own_id)
        if found:
            stopped.append(_result(obj, number, rule, found, options["includeRecordDetails"]))
    if stopped:
        raise DuplicatesDetected(stopped)


def _key(value: object) -> Optional[str]:
    text = "" if value is None else str(value).strip()
    return text.casefold() or None


def _matches(store: Store, obj: schema.SObjectType, fields: tuple[str, ...], record: dict,
             own_id: Optional[str]) -> list[dict]:
    wanted = [_key(record.get(name)) for name in fields]
    if None in wanted:
        return []
    return [row for row in store.rows(obj.name)
            if row["Id"] != own_id and [_key(row.get(name)) for name in fields] == wanted]


def _result(obj: schema.SObjectType, number: int, rule: org_shape.DuplicateRule, found: list[dict],
            details: bool) -> dict:
    match_records = [{"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0,
                      "record": _shown(obj, row, details)} for row in found]
    return {
        "allowSave": rule.action == "alert",
        "duplicateRule": f"Local_{obj.name}_Duplicate_Rule_{number}",
        "duplicateRuleEntityType": obj.name,
        "errorMessage": MESSAGE,
        "matchResults": [{"entityType": obj.name, "errors": [], "matchEngine": "ExactMatchEngine",
                          "matchRecords": match_records, "rule": f"Local_{obj.name}_Match_Rule_{number}",
                          "size": len(match_records), "success": True}],
    }


def _shown(obj: schema.SObjectType, row: dict, details: bool) -> dict:
    """A matched record: its Id, or with `includeRecordDetails` every field the user may see."""
    url = f"/services/data/v{g.api_version}/sobjects/{obj.name}/{row['Id']}"
    shown: dict = {"attributes": {"type": obj.name, "url": url}}
    names = [f.name for f in obj.visible_fields()] if details else ["Id"]
    shown.update({name: row.get(name) for name in names})
    return shown
