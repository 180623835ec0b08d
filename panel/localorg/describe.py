"""Describe results in Salesforce's shape, generated from schema.py."""

from __future__ import annotations

from . import schema

_SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
               "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date",
               "datetime": "xsd:dateTime"}
_NOT_GROUPABLE = frozenset({"textarea", "double"})


def _urls(obj: schema.SObjectType, version: str) -> dict:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def basic(obj: schema.SObjectType, version: str) -> dict:
    """The per-object entry of the global describe (and `objectDescribe` of `GET sobjects/<T>`)."""
    return {
        "name": obj.name, "label": obj.label, "labelPlural": obj.label_plural, "keyPrefix": obj.key_prefix,
        "custom": False, "customSetting": False, "queryable": obj.queryable,
        "createable": obj.createable and obj.writable, "updateable": obj.updateable and obj.writable,
        "deletable": obj.deletable and obj.writable, "searchable": obj.searchable,
        "retrieveable": obj.queryable, "undeletable": obj.deletable, "layoutable": obj.queryable,
        "replicateable": obj.queryable, "triggerable": obj.queryable, "mergeable": obj.name in ("Account",
                                                                                               "Contact", "Lead"),
        "activateable": False, "feedEnabled": False, "mruEnabled": obj.queryable, "deprecatedAndHidden": False,
        "hasSubtypes": False, "isSubtype": False, "urls": _urls(obj, version),
    }


def field(f: schema.Field) -> dict:
    text = f.type in schema.TEXT_TYPES or f.type in ("textarea",)
    return {
        "name": f.name, "label": f.label or f.name, "type": f.type, "soapType": _SOAP_TYPES.get(f.type,
                                                                                                "xsd:string"),
        "length": f.length if text else 0, "byteLength": f.length * 3 if text else 0,
        "digits": 9 if f.type == "int" else 0, "precision": 18 if f.type in ("double", "currency", "percent")
        else 0, "scale": 2 if f.type in ("currency",) else 0,
        "nillable": f.nillable, "createable": f.createable, "updateable": f.updateable,
        "defaultedOnCreate": f.defaulted_on_create, "defaultValue": f.default_value,
        "calculated": f.calculated, "custom": f.name.endswith("__c"), "externalId": f.external_id,
        "unique": f.unique, "idLookup": f.name == "Id" or f.external_id or f.name in ("Email", "Username"),
        "nameField": f.name_field, "filterable": f.filterable, "sortable": f.filterable,
        "groupable": f.filterable and f.type not in _NOT_GROUPABLE,
        "referenceTo": list(f.reference_to), "relationshipName": f.relationship_name,
        "polymorphicForeignKey": f.polymorphic, "restrictedPicklist": f.restricted_picklist,
        "picklistValues": [{"active": True, "defaultValue": value == f.default_value, "label": value,
                            "validFor": None, "value": value} for value in f.picklist_values],
        "caseSensitive": False, "autoNumber": False, "cascadeDelete": False, "dependentPicklist": False,
        "htmlFormatted": False, "permissionable": f.nillable and not f.calculated, "deprecatedAndHidden": False,
    }


def full(obj: schema.SObjectType, version: str) -> dict:
    """`GET sobjects/<T>/describe`."""
    children = [{"childSObject": rel.child_sobject, "field": rel.fields[0], "relationshipName": rel.name,
                 "cascadeDelete": False, "deprecatedAndHidden": False, "restrictedDelete": False}
                for rel in obj.child_relationships.values()]
    return {**basic(obj, version), "fields": [field(f) for f in obj.visible_fields()],
            "childRelationships": children, "recordTypeInfos": [], "supportedScopes": [],
            "searchLayoutable": obj.searchable, "compactLayoutable": obj.queryable,
            "urls": {**_urls(obj, version)}}


def global_describe(version: str) -> dict:
    return {"encoding": "UTF-8", "maxBatchSize": 200,
            "sobjects": [basic(o, version) for o in schema.SOBJECTS.values() if o.readable]}
