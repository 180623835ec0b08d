"""The `sobjects` resources: describes, and create/read/update/delete/upsert of single records."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from . import describe, ids, records
from .api import api_url, bp, counted, current_user, read_json
from .context import current_org
from .errors import ApiError


def _describable(name: str):
    return records.resolve_sobject(name)


@bp.route("/<version>/sobjects", methods=["GET"], strict_slashes=False)
@counted("describeGlobal")
def describe_global(version: str):
    return jsonify(describe.global_describe(g.api_version))


@bp.route("/<version>/sobjects/<sobject>/describe", methods=["GET"], strict_slashes=False)
@counted("describe")
def describe_sobject(version: str, sobject: str):
    return jsonify(describe.full(_describable(sobject), g.api_version))


@bp.route("/<version>/sobjects/<sobject>", methods=["GET", "POST"], strict_slashes=False)
@counted("sobjects")
def sobject_root(version: str, sobject: str):
    obj = _describable(sobject)
    if request.method == "GET":
        return jsonify({"objectDescribe": describe.basic(obj, g.api_version), "recentItems": []})
    record_id = records.create(current_org().store, obj.name, read_json(), current_user()["Id"])
    response = jsonify({"id": record_id, "success": True, "errors": []})
    response.status_code = 201
    response.headers["Location"] = api_url(f"sobjects/{obj.name}/{record_id}")
    return response


@bp.route("/<version>/sobjects/<sobject>/<record_id>", methods=["GET", "PATCH", "DELETE"])
@counted("sobjects")
def sobject_record(version: str, sobject: str, record_id: str):
    obj = _describable(sobject)
    store = current_org().store
    if not ids.is_valid_id(record_id):
        # Salesforce reads a segment that is no id as an external-id field name with no value.
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                                         f"{record_id}")
    if request.method == "GET":
        return jsonify(shape_record(obj, records.existing(store, obj, record_id, for_write=False),
                                    request.args.get("fields")))
    if request.method == "PATCH":
        records.update(store, obj.name, record_id, read_json(), current_user()["Id"])
    else:
        records.delete(store, obj.name, record_id, current_user()["Id"])
    return Response(status=204)


@bp.route("/<version>/sobjects/<sobject>/<field_name>/<path:value>", methods=["GET", "PATCH", "POST", "DELETE"])
@counted("sobjects")
def sobject_by_external_id(version: str, sobject: str, field_name: str, value: str):
    obj = _describable(sobject)
    store = current_org().store
    user_id = current_user()["Id"]
    if request.method in ("PATCH", "POST"):
        record_id, created = records.upsert(store, obj.name, field_name, value, read_json(), user_id)
        response = jsonify({"id": record_id, "success": True, "errors": [], "created": created})
        response.status_code = 201 if created else 200
        if created:
            response.headers["Location"] = api_url(f"sobjects/{obj.name}/{record_id}")
        return response
    field = obj.field(field_name)
    if field is None or not field.external_id:
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                                         f"{field_name}")
    matches = store.find_ids(obj.name, field.name, value)
    if not matches:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    if len(matches) > 1:
        response = jsonify([api_url(f"sobjects/{obj.name}/{m}") for m in matches])
        response.status_code = 300
        return response
    if request.method == "DELETE":
        records.delete(store, obj.name, matches[0], user_id)
        return Response(status=204)
    return jsonify(shape_record(obj, records.existing(store, obj, matches[0], for_write=False),
                                request.args.get("fields")))


def shape_record(obj, row: dict, fields_param: str | None) -> dict:
    """A record as `GET sobjects/<T>/<id>` returns it: attributes first, then the fields asked for (or all)."""
    if fields_param:
        wanted = []
        for name in (part.strip() for part in fields_param.split(",")):
            field = obj.field(name)
            if field is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj.name}'. If you are "
                                                     "attempting to use a custom field, be sure to append the "
                                                     "'__c' after the custom field name.")
            wanted.append(field.name)
    else:
        wanted = [f.name for f in obj.visible_fields()]
    shaped = {"attributes": {"type": obj.name, "url": api_url(f"sobjects/{obj.name}/{row['Id']}")}}
    shaped.update({name: row.get(name) for name in wanted})
    return shaped
