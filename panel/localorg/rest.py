"""REST resources that read: versions, the resource list, query/queryAll with paging, search, limits.

Query results are paged like Salesforce's: a batch of 2,000 records by default, or what the
`Sforce-Query-Options: batchSize=N` header asks for (clamped to 200..2,000); the rest waits behind a query locator
(`nextRecordsUrl` = `/services/data/vXX.X/query/01g…-2000`) kept in the database, so any server process can
serve the next page.
"""

from __future__ import annotations

import json
import re
import secrets

from flask import g, jsonify, request

from .api import api_url, bp, counted, not_found, read_json
from .context import API_VERSIONS, DAILY_API_LIMIT, current_org
from .errors import ApiError

DEFAULT_BATCH = 2000
MIN_BATCH, MAX_BATCH = 200, 2000
_BATCH_OPTION = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_LOCATOR = re.compile(r"^(01g[A-Za-z0-9_-]{10,40})-(\d{1,9})$")


@bp.route("", methods=["GET"])
@bp.route("/", methods=["GET"])
def versions():
    return jsonify([{"label": _release(v), "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS])


def _release(version: str) -> str:
    major = int(float(version))
    season = ("Winter", "Spring", "Summer")[(major - 50) % 3]
    year = 21 + (major - 50) // 3
    return f"{season} '{year}"


@bp.route("/<version>", methods=["GET"], strict_slashes=False)
@counted("resources")
def resources(version: str):
    names = ("sobjects", "query", "queryAll", "search", "parameterizedSearch", "composite", "limits")
    return jsonify({name: api_url(name).rstrip("/") for name in names})


# -- query --------------------------------------------------------------------------------------------------------

@bp.route("/<version>/query", methods=["GET"], strict_slashes=False)
@counted("query")
def query(version: str):
    return _query(include_deleted=False)


@bp.route("/<version>/queryAll", methods=["GET"], strict_slashes=False)
@counted("queryAll")
def query_all(version: str):
    return _query(include_deleted=True)


def _query(*, include_deleted: bool):
    text = request.args.get("q", "")
    if not text.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    from . import soql  # written alongside; imported late so the org starts while it is absent

    org = current_org()
    result = soql.run_query(text, org.store, include_deleted=include_deleted, api_version=g.api_version,
                            now=org.store.now(), tz=org.timezone)
    return jsonify(first_page(result.total_size, result.records, _batch_size()))


def first_page(total_size: int, records: list[dict], batch: int) -> dict:
    page = {"totalSize": total_size, "done": True, "records": records[:batch]}
    if len(records) > batch:
        locator = "01g" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
        store = current_org().store
        with store.transaction() as conn:
            conn.execute("INSERT INTO cursors (id, payload, created_at) VALUES (?, ?, ?)",
                         (locator, json.dumps({"total": total_size, "records": records, "batch": batch},
                                              ensure_ascii=False), store.now()))
        page.update(done=False, nextRecordsUrl=api_url(f"query/{locator}-{batch}"))
    return page


def _batch_size() -> int:
    found = _BATCH_OPTION.search(request.headers.get("Sforce-Query-Options", ""))
    if not found:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(MAX_BATCH, int(found.group(1))))


@bp.route("/<version>/query/<locator>", methods=["GET"])
@bp.route("/<version>/queryAll/<locator>", methods=["GET"])
@counted("queryMore")
def query_more(version: str, locator: str):
    found = _LOCATOR.match(locator)
    row = None
    if found:
        row = current_org().store.conn.execute("SELECT payload FROM cursors WHERE id = ?",
                                               (found.group(1),)).fetchone()
    if row is None:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    saved = json.loads(row[0])
    start, batch = int(found.group(2)), saved["batch"]
    records = saved["records"][start:start + batch]
    page = {"totalSize": saved["total"], "done": start + batch >= len(saved["records"]), "records": records}
    if not page["done"]:
        page["nextRecordsUrl"] = api_url(f"query/{found.group(1)}-{start + batch}")
    return jsonify(page)


# -- search -------------------------------------------------------------------------------------------------------

@bp.route("/<version>/search", methods=["GET"], strict_slashes=False)
@counted("search")
def search(version: str):
    text = request.args.get("q", "")
    if not text.strip():
        raise ApiError(400, "MALFORMED_SEARCH", "No search term found. The search term must be enclosed in braces.")
    from . import sosl

    org = current_org()
    found = sosl.run_search(text, org.store, api_version=g.api_version, now=org.store.now(),
                            search_lag_s=org.search_lag_s, tz=org.timezone)
    return jsonify({"searchRecords": found})


@bp.route("/<version>/parameterizedSearch", methods=["GET", "POST"], strict_slashes=False)
@counted("parameterizedSearch")
def parameterized_search(version: str):
    if request.method == "POST":
        params = read_json()
        if not isinstance(params, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    else:
        params = {key: (values[0] if len(values) == 1 else values)
                  for key, values in request.args.lists()}
    from . import sosl

    org = current_org()
    found = sosl.run_parameterized_search(params, org.store, api_version=g.api_version, now=org.store.now(),
                                          search_lag_s=org.search_lag_s, tz=org.timezone)
    return jsonify({"searchRecords": found})


# -- limits -------------------------------------------------------------------------------------------------------

@bp.route("/<version>/limits", methods=["GET"], strict_slashes=False)
@counted("limits")
def limits(version: str):
    used = current_org().store.counters().get("api_requests", 0)
    return jsonify({
        "DailyApiRequests": {"Max": DAILY_API_LIMIT, "Remaining": max(0, DAILY_API_LIMIT - used)},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DataStorageMB": {"Max": 5, "Remaining": 5},
        "FileStorageMB": {"Max": 20, "Remaining": 20},
        "HourlyODataCallout": {"Max": 10000, "Remaining": 10000},
        "SingleEmail": {"Max": 15, "Remaining": 15},
    })


@bp.route("/<version>/<path:rest>", methods=["GET", "POST", "PATCH", "DELETE"])
def unknown_resource(version: str, rest: str):
    raise not_found()

