"""Picklist labels in the requesting user's language: what `toLabel(field)` answers in SOQL and SOSL.

Salesforce: "Translate SOQL query results into the language of the user who submits the query using the toLabel
function" (SOQL and SOSL Reference, toLabel():
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_tolabel.htm).
The user's language is the User's `LanguageLocaleKey` (the seed: `ja` for the agents, `en_US` for the integration
user). A value without a translation comes back as it is stored, as does every value for an `en_US` user: the
English labels of the standard values are their API names.

Which values are translated, and where the Japanese labels come from: Salesforce publishes no table of the Japanese
labels of its standard picklist values (none was found while building this). Its Japanese Trailhead module
"セールスプロセスの作成と商談の使用" (trailhead.salesforce.com/ja/content/learn/modules/admin_intro_opptys_leads) names
"プロスペクティング (見込み調査)", "成立" and "不成立"; the other labels below are the local org's renderings, as
Japanese-language sources on Salesforce commonly write them, and may differ from a real org's. That is harmless by
design: the panel compares API values only and shows whatever label the org answers.
- Opportunity `StageName`, Lead `Status`, Task `Status` (and the activity views' `Status`).
- An org whose admin replaced the Task Status values (`org_shape.task_statuses`) has its own labels, which are the
  values themselves (a value an admin adds is its own label): nothing is translated then, nor in any picklist
  whose values differ from Salesforce's.
"""

from __future__ import annotations

from flask import g, has_request_context

from . import schema

DEFAULT_LANGUAGE = "en_US"

_JA: dict[tuple[str, str], dict[str, str]] = {
    ("Opportunity", "StageName"): {
        "Prospecting": "プロスペクティング", "Qualification": "評価", "Needs Analysis": "ニーズ分析",
        "Value Proposition": "価値提案", "Id. Decision Makers": "意思決定者の特定",
        "Perception Analysis": "認識分析", "Proposal/Price Quote": "提案/見積", "Negotiation/Review": "交渉/レビュー",
        "Closed Won": "成立", "Closed Lost": "不成立",
    },
    ("Lead", "Status"): {
        "Open - Not Contacted": "未対応", "Working - Contacted": "対応中", "Closed - Converted": "取引開始済み",
        "Closed - Not Converted": "取引不成立",
    },
    ("Task", "Status"): {
        "Not Started": "未着手", "In Progress": "進行中", "Completed": "完了",
        "Waiting on someone else": "他者の作業待ち", "Deferred": "延期",
    },
}
_JA[("OpenActivity", "Status")] = _JA[("ActivityHistory", "Status")] = _JA[("Task", "Status")]
LABELS: dict[str, dict[tuple[str, str], dict[str, str]]] = {"ja": _JA}


def current_language() -> str:
    """The language of the user the API request is served for (`LanguageLocaleKey`); en_US outside a request."""
    user = g.get("user") if has_request_context() else None
    return (user or {}).get("LanguageLocaleKey") or DEFAULT_LANGUAGE


def translatable(f: schema.Field) -> bool:
    """Whether `toLabel()` applies to the field: a picklist (or combobox), as the reference lists them."""
    return f.type in ("picklist", "multipicklist", "combobox")


def label(sobject: str, f: schema.Field, value: object, language: str | None = None) -> object:
    """The label of a stored picklist value for `language` (default: the requesting user's)."""
    if not isinstance(value, str):
        return value
    table = LABELS.get(language or current_language(), {}).get((sobject, f.name))
    if not table or not _standard_values(sobject, f):
        return value
    return table.get(value, value)


def _standard_values(sobject: str, f: schema.Field) -> bool:
    """Whether the field still has Salesforce's values (an org that replaced them has its own labels)."""
    pristine = schema.get_sobject(sobject)
    own = pristine.fields.get(f.name.lower()) if pristine is not None else None
    return own is not None and tuple(own.picklist_values) == tuple(f.picklist_values)
