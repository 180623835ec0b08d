"""`composite` and `composite/sobjects`: several operations in one API request.

Composite subrequests are dispatched inside this process to the same views that serve them over HTTP (nothing goes
over the network, and the whole call counts once). `@{ref.field}` and `@{ref.records[0].Id}` references are
resolved against earlier subrequests' response bodies. At most 25 subrequests, of which at most 5 query (Query,
QueryAll, Query More) or sObject Collections operations (`MAX_QUERY_OR_COLLECTION_SUBREQUESTS`). With `allOrNone`, the first failure rolls everything back
and every other subrequest answers `PROCESSING_HALTED`, as Salesforce does.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Optional

from flask import current_app, g, request

from . import ids, records
from .api import api_version, bp, counted, current_user, read_json
from .context import current_org
from .errors import ApiError

MAX_SUBREQUESTS = 25
# "You can have up to 25 subrequests in a single call. Up to 5 of these subrequests can be sObject Collections or
# query operations, including Query and QueryAll requests" (and "Query More" requests for the next batch): REST API
# Developer Guide, Composite, https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
# resources_composite_composite.htm. The guide gives no error for going beyond; the model refuses the whole request
# before running any subrequest, with the code Salesforce answers for too many operations (LIMIT_EXCEEDED).
MAX_QUERY_OR_COLLECTION_SUBREQUESTS = 5
_QUERY_OR_COLLECTION = re.compile(r"^/services/data/v[^/]+/(?:query|queryAll|composite/sobjects)(?:[/?]|$)")
MAX_COLLECTION = 200
_REFERENCE = re.compile(r"@\{([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])+)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_PATH_PART = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_SUBREQUEST_COUNTERS = {"sobjects", "query", "queryAll", "queryMore", "describe", "describeGlobal", "limits",
                        "compositeSobjects", "resources"}
# Headers a subrequest's httpHeaders do not set: the composite request itself carries them (REST API, "Composite
# Subrequest": any header the resource supports, except those set automatically, Authorization among them).
_SET_BY_COMPOSITE = {"accept", "authorization", "connection", "content-length", "content-type", "cookie", "host",
                     "transfer-encoding"}
ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."


class _RollBack(Exception):
    pass


class _Unresolved(Exception):
    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


# -- composite ----------------------------------------------------------------------------------------------------

@bp.route("/<version>/composite", methods=["POST"], strict_slashes=False)
@counted("composite")
def composite(version: str):
    body = read_json()
    subrequests = _check_composite(body)
    all_or_none = body.get("allOrNone", False)
    store = current_org().store
    answers: list[dict] = []
    outputs: dict[str, object] = {}
    try:
        with store.transaction() if all_or_none else contextlib.nullcontext():
            for sub in subrequests:
                answer = _run_subrequest(sub, outputs)
                answers.append(answer)
                if answer["httpStatusCode"] < 400:
                    outputs[sub["referenceId"]] = answer["body"]
                elif all_or_none:
                    raise _RollBack
    except _RollBack:
        failed = answers[-1]
        answers = [failed if a is failed else _halted(a["referenceId"], ROLLED_BACK) for a in answers]
        answers += [_halted(sub["referenceId"], ROLLED_BACK) for sub in subrequests[len(answers):]]
    return {"compositeResponse": answers}


def _check_composite(body: object) -> list[dict]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must have a compositeRequest array")
    if not isinstance(body.get("allOrNone", False), bool):
        raise ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
    subrequests = body["compositeRequest"]
    if not subrequests or len(subrequests) > MAX_SUBREQUESTS:
        raise ApiError(400, "INVALID_BATCH_REQUEST",
                       f"A composite request holds 1 to {MAX_SUBREQUESTS} subrequests, not {len(subrequests)}")
    seen = set()
    for sub in subrequests:
        if not isinstance(sub, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Each subrequest must be a JSON object")
        for key in ("method", "url", "referenceId"):
            if not isinstance(sub.get(key), str) or not sub[key]:
                raise ApiError(400, "INVALID_INPUT", f"Each subrequest needs a {key}", [key])
        if not _REFERENCE_ID.match(sub["referenceId"]) or sub["referenceId"] in seen:
            raise ApiError(400, "INVALID_INPUT", f"Invalid or duplicate referenceId: {sub['referenceId']}",
                           ["referenceId"])
        if sub["method"].upper() not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            raise ApiError(400, "INVALID_INPUT", f"Unsupported method: {sub['method']}", ["method"])
        headers = sub.get("httpHeaders", {})
        if not isinstance(headers, dict) or not all(
                isinstance(v, str) and f"{k}{v}".isascii() and f"{k}{v}".isprintable() and k.strip()
                for k, v in headers.items()):
            raise ApiError(400, "JSON_PARSER_ERROR", "httpHeaders must map header names to one line of text each")
        seen.add(sub["referenceId"])
    heavy = sum(1 for sub in subrequests if _QUERY_OR_COLLECTION.match(sub["url"]))
    if heavy > MAX_QUERY_OR_COLLECTION_SUBREQUESTS:
        raise ApiError(400, "LIMIT_EXCEEDED",
                       f"The request can't contain more than {MAX_QUERY_OR_COLLECTION_SUBREQUESTS} query or sObject "
                       f"Collections operations; it has {heavy}.")
    return subrequests


def _halted(reference_id: str, message: str) -> dict:
    return {"body": [{"errorCode": "PROCESSING_HALTED", "message": message}], "httpHeaders": {},
            "httpStatusCode": 400, "referenceId": reference_id}


def _run_subrequest(sub: dict, outputs: dict) -> dict:
    try:
        url = _REFERENCE.sub(lambda m: str(_lookup(outputs, m)), sub["url"])
        body = _resolve(sub.get("body"), outputs)
    except _Unresolved as missing:
        return _halted(sub["referenceId"], f"Invalid reference specified. No value for {missing.reference} found "
                                           f"in {missing.reference.split('.')[0].split('[')[0]}. Provided "
                                           f"referenceId ({missing.reference}) must be valid.")
    status, headers, answer = dispatch(sub["method"].upper(), url, body, sub.get("httpHeaders"))
    return {"body": answer, "httpHeaders": headers, "httpStatusCode": status, "referenceId": sub["referenceId"]}


def _lookup(outputs: dict, match: re.Match) -> object:
    reference = match.group(0)[2:-1]
    if match.group(1) not in outputs:
        raise _Unresolved(reference)
    value = outputs[match.group(1)]
    for name, index in _PATH_PART.findall(match.group(2)):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            raise _Unresolved(reference) from None
    return value


def _resolve(value: object, outputs: dict) -> object:
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(outputs, whole)
        return _REFERENCE.sub(lambda m: str(_lookup(outputs, m)), value)
    if isinstance(value, list):
        return [_resolve(v, outputs) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    return value


def dispatch(method: str, url: str, body: object, headers: Optional[dict] = None) -> tuple[int, dict, object]:
    """Serve one subrequest through the view that would serve it over HTTP: (status, headers, body).

    `headers` are the subrequest's own `httpHeaders` (such as `Sforce-Duplicate-Rule-Header`), less those the
    composite resource sets itself (REST API Developer Guide, "Composite Subrequest")."""
    if not url.startswith("/services/data/"):
        return 400, {}, ApiError(400, "INVALID_INPUT", f"Unsupported subrequest URL: {url}").body()
    app = current_app._get_current_object()
    data = json.dumps(body, ensure_ascii=False) if body is not None else None
    outer_version = g.get("api_version")
    with app.test_request_context(url, method=method, base_url=request.url_root, data=data,
                                  content_type="application/json",
                                  headers={**{name: value for name, value in (headers or {}).items()
                                              if name.lower() not in _SET_BY_COMPOSITE},
                                           "Authorization": request.headers.get("Authorization", "")}):
        try:
            if request.routing_exception is not None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            view = app.view_functions[request.url_rule.endpoint]
            version = api_version((request.view_args or {}).get("version", ""))
            if getattr(view, "api_counter", None) not in _SUBREQUEST_COUNTERS or version is None:
                raise ApiError(400, "INVALID_INPUT", f"The composite API does not serve {method} {url}")
            g.api_version = version
            response = app.make_response(view(**request.view_args))
        except ApiError as error:
            return error.status, {}, error.body()
        finally:
            g.api_version = outer_version
        headers = {"Location": response.headers["Location"]} if "Location" in response.headers else {}
        return response.status_code, headers, response.get_json(silent=True) if response.data else None


# -- composite/sobjects -------------------------------------------------------------------------------------------

@bp.route("/<version>/composite/sobjects", methods=["POST", "PATCH", "DELETE"], strict_slashes=False)
@counted("compositeSobjects")
def composite_sobjects(version: str):
    store = current_org().store
    user_id = current_user()["Id"]
    if request.method == "DELETE":
        raw_ids = [i for i in request.args.get("ids", "").split(",") if i]
        all_or_none = request.args.get("allOrNone", "false").lower() == "true"
        items = [(i, None) for i in raw_ids]
    else:
        body = read_json()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must have a records array")
        all_or_none = body.get("allOrNone", False)
        if not isinstance(all_or_none, bool):
            raise ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
        items = [(r.get("id") or r.get("Id") if isinstance(r, dict) else None, r) for r in body["records"]]
    if not items or len(items) > MAX_COLLECTION:
        raise ApiError(400, "INVALID_BATCH_SIZE", f"A collection holds 1 to {MAX_COLLECTION} records")
    results: list[dict] = []
    try:
        with store.transaction():
            for record_id, record in items:
                results.append(_collection_item(store, request.method, record_id, record, user_id))
            if all_or_none and not all(r["success"] for r in results):
                raise _RollBack
    except _RollBack:
        results = [r if not r["success"] else {
            "id": r.get("id"), "success": False,
            "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "message": "Record rolled back because not all records were valid and the request was "
                                   "using AllOrNone header", "fields": []}]} for r in results]
    return json.dumps(results, ensure_ascii=False), 200, {"Content-Type": "application/json"}


def _collection_item(store, method: str, record_id: Optional[str], record: object, user_id: str) -> dict:
    try:
        if method == "DELETE":
            if not ids.is_valid_id(record_id):
                raise ApiError(400, "MALFORMED_ID", f"malformed id {record_id}", [])
            found = store.row(record_id)
            if found is None:
                raise ApiError(404, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            records.delete(store, found["_sobject"], record_id, user_id)
            return {"id": found["Id"], "success": True, "errors": []}
        if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict) \
                or not isinstance(record["attributes"].get("type"), str):
            raise ApiError(400, "INVALID_TYPE", "Must specify a type in attributes", [])
        sobject = record["attributes"]["type"]
        values = {k: v for k, v in record.items() if k.lower() not in ("attributes", "id")}
        if method == "POST":
            if record_id:
                raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            return {"id": records.create(store, sobject, values, user_id), "success": True, "errors": []}
        if not isinstance(record_id, str) or not record_id:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        records.update(store, sobject, record_id, values, user_id)
        return {"id": store.row(record_id)["Id"], "success": True, "errors": []}
    except ApiError as error:
        answer = {"success": False, "errors": [{"statusCode": error.error_code, "message": error.message,
                                                 "fields": error.fields}]}
        if record_id:
            answer["id"] = record_id
        return answer
