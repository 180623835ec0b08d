"""The local org's seed: a small, realistic, mostly Japanese sales org, identical after every reset.

Record ids are fixed (`IDS["contact.yamada_taro"]`), so tests can name what they touch. Dates are relative to the
day of the reset in the org's time zone (Asia/Tokyo), so "overdue" stays overdue; every seeded record was created
and last changed days ago, so it is already searchable whatever `SEARCH_LAG_S` is.

Which record exercises which case (`SEED_PHONES` maps each phone case to its stored text and record keys):

| case | stored as | records |
|---|---|---|
| hyphenated landline | `03-1234-5678` | contact.yamada_taro (Phone) |
| mobile | `090-1234-5678` | contact.yamada_taro (MobilePhone) |
| E.164 with spaces | `+81 3 2345 6789` | contact.suzuki_ichiro |
| E.164 with the trunk zero in brackets | `+81 (0)3-3456-7890` | contact.takahashi_misaki |
| area code in brackets | `(03)4567-8901` | contact.tanaka_kenta |
| dots | `03.5678.9012` | contact.ito_sakura |
| full-width digits | `０３－５５５５－１２３４` | contact.watanabe_naoki |
| country code without + | `81367890123` | contact.nakamura_yuko |
| Japanese extension | `03-1234-9999 内線 123` | contact.kobayashi_makoto |
| "ext." extension | `+81 3 8765 4321 ext. 45` | contact.kato_megumi |
| US number | `+1 (415) 555-0100` | contact.john_smith |
| shared by two contacts | `06-6123-4567` | contact.yoshida_sho, contact.yoshida_aya |
| shared by a lead and a contact | `052-123-4567` | lead.matsumoto_daisuke, contact.inoue_yoko |
| lead mobile only | `080-9876-5432` | lead.kimura_takuya (MobilePhone) |
| account main line only | `011-222-3333` | account.hokkaido_foods |
| converted lead and its contact | `092-345-6789` | lead.yamamoto_kenichi (converted), contact.yamamoto_kenichi |

Other cases: account.mirai_kyoiku has an open opportunity but its contact (contact.morita_jun) has no contact
role; contact.yamada_taro has an overdue, a future, an undated and a completed Task plus a completed call Task;
task.call_inbound_yamada carries `Panel_Call_Key__c` = "seed-call-0001"; lead.shimizu_rina is converted without an
opportunity; lead.mori_haruka has no phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from . import formats, ids, records, schema

ORG_TIMEZONE = ZoneInfo("Asia/Tokyo")
ORG_ID = ids.to_18("00D5g0000000LOC")

AGENT_USERNAME = "agent@example.com"
AGENT2_USERNAME = "agent2@example.com"
REVIEWER_USERNAME = "reviewer@example.com"
INTEGRATION_USERNAME = "integration@example.com"


@dataclass(frozen=True)
class Days:
    """A date this many days from the reset day (negative = past), in the org's time zone."""

    offset: int


@dataclass(frozen=True)
class DaysAgoAt:
    """A datetime `days` before the reset moment."""

    days: float


def _ref(key: str) -> str:
    return "@" + key


USERS = {
    "user.agent": dict(Username=AGENT_USERNAME, Email=AGENT_USERNAME, LastName="佐藤", FirstName="花子",
                       Alias="hsato", Title="インサイドセールス", Phone="03-6000-0001"),
    "user.agent2": dict(Username=AGENT2_USERNAME, Email=AGENT2_USERNAME, LastName="高木", FirstName="翼",
                        Alias="ttakagi", Title="フィールドセールス", Phone="03-6000-0002"),
    "user.reviewer": dict(Username=REVIEWER_USERNAME, Email=REVIEWER_USERNAME, LastName="石井", FirstName="真理",
                          Alias="mishii", Title="セールスマネージャー"),
    "user.integration": dict(Username=INTEGRATION_USERNAME, Email=INTEGRATION_USERNAME, LastName="Integration",
                             FirstName="Panel", Alias="integ", LanguageLocaleKey="en_US"),
}

ACCOUNTS = {
    "account.yamada_shoji": dict(Name="株式会社山田商事", Phone="03-1234-5600", Industry="Retail",
                                 Type="Customer - Direct", NumberOfEmployees=320, BillingCity="千代田区",
                                 BillingState="東京都", BillingPostalCode="100-0005", BillingCountry="日本",
                                 Website="https://yamada-shoji.example.jp"),
    "account.sakura_kogyo": dict(Name="株式会社さくら工業", Phone="06-6123-4560", Industry="Manufacturing",
                                 Type="Customer - Direct", NumberOfEmployees=1200, BillingCity="大阪市北区",
                                 BillingState="大阪府", BillingCountry="日本"),
    "account.tokyo_digital": dict(Name="東京デジタル株式会社", Phone="03-3456-7800", Industry="Technology",
                                  Type="Prospect", BillingCity="渋谷区", BillingState="東京都", BillingCountry="日本"),
    "account.hokkaido_foods": dict(Name="株式会社北海道フーズ", Phone="011-222-3333", Industry="Retail",
                                   Type="Prospect", BillingCity="札幌市中央区", BillingState="北海道",
                                   BillingCountry="日本"),
    "account.nakamura_iryo": dict(Name="医療法人ナカムラ会", Phone="03-6789-0100", Industry="Healthcare",
                                  Type="Customer - Channel", BillingCity="港区", BillingState="東京都",
                                  BillingCountry="日本"),
    "account.aozora_unyu": dict(Name="有限会社青空運輸", Industry="Other", BillingCity="横浜市", BillingState="神奈川県",
                                BillingCountry="日本"),
    "account.mirai_kyoiku": dict(Name="株式会社未来教育", Industry="Education", Type="Prospect",
                                 BillingCity="福岡市", BillingState="福岡県", BillingCountry="日本"),
    "account.yamamoto_kensetsu": dict(Name="山本建設株式会社", Phone="092-345-6700", Industry="Other",
                                      BillingCity="福岡市博多区", BillingState="福岡県", BillingCountry="日本"),
    "account.nagoya_seiki": dict(Name="名古屋精機株式会社", Phone="052-123-4500", Industry="Manufacturing",
                                 BillingCity="名古屋市中区", BillingState="愛知県", BillingCountry="日本"),
    "account.pacific_trading": dict(Name="Pacific Trading Inc.", Phone="+1 (415) 555-0199", Industry="Finance",
                                    Type="Partner", BillingCity="San Francisco", BillingState="CA",
                                    BillingCountry="United States"),
}


def _contact(last: str, first: str, account: str, **values) -> dict:
    return dict(LastName=last, FirstName=first, AccountId=_ref(account), **values)


CONTACTS = {
    "contact.yamada_taro": _contact("山田", "太郎", "account.yamada_shoji", Title="営業部長", Department="営業部",
                                    Phone="03-1234-5678", MobilePhone="090-1234-5678",
                                    Email="taro.yamada@yamada-shoji.example.jp"),
    "contact.suzuki_ichiro": _contact("鈴木", "一郎", "account.yamada_shoji", Title="購買課長",
                                      Phone="+81 3 2345 6789", Email="i.suzuki@yamada-shoji.example.jp"),
    "contact.takahashi_misaki": _contact("高橋", "美咲", "account.tokyo_digital", Title="情報システム部 主任",
                                         Phone="+81 (0)3-3456-7890", Email="misaki.takahashi@tokyo-digital.example.jp"),
    "contact.tanaka_kenta": _contact("田中", "健太", "account.tokyo_digital", Title="CTO",
                                     Phone="(03)4567-8901"),
    "contact.ito_sakura": _contact("伊藤", "さくら", "account.nakamura_iryo", Title="事務長",
                                   Phone="03.5678.9012"),
    "contact.watanabe_naoki": _contact("渡辺", "直樹", "account.aozora_unyu", Title="代表取締役",
                                       Phone="０３－５５５５－１２３４"),
    "contact.nakamura_yuko": _contact("中村", "優子", "account.nakamura_iryo", Title="理事長",
                                      Phone="81367890123"),
    "contact.kobayashi_makoto": _contact("小林", "誠", "account.yamada_shoji", Title="総務部",
                                         Phone="03-1234-9999 内線 123"),
    "contact.kato_megumi": _contact("加藤", "恵", "account.tokyo_digital", Title="マーケティング部",
                                    Phone="+81 3 8765 4321 ext. 45"),
    "contact.john_smith": _contact("Smith", "John", "account.pacific_trading", Title="VP Asia Pacific",
                                   Phone="+1 (415) 555-0100", Email="john.smith@pacific-trading.example.com",
                                   MailingCountry="United States"),
    "contact.yoshida_sho": _contact("吉田", "翔", "account.sakura_kogyo", Title="生産管理部 部長",
                                    Phone="06-6123-4567"),
    "contact.yoshida_aya": _contact("吉田", "彩", "account.sakura_kogyo", Title="生産管理部",
                                    Phone="06-6123-4567", MobilePhone="070-2345-6789"),
    "contact.inoue_yoko": _contact("井上", "陽子", "account.nagoya_seiki", Title="経理部長",
                                   Phone="052-123-4567"),
    "contact.yamamoto_kenichi": _contact("山本", "健一", "account.yamamoto_kensetsu", Title="代表取締役",
                                         Phone="092-345-6789", LeadSource="Web"),
    "contact.morita_jun": _contact("森田", "潤", "account.mirai_kyoiku", Title="教務部長",
                                   Email="jun.morita@mirai-kyoiku.example.jp"),
    "contact.no_account": dict(LastName="岡田", FirstName="修", Phone="045-987-6543",
                               Description="取引先のない個人の連絡先"),
}

_CONVERTED = dict(Status="Closed - Converted", IsConverted=True, ConvertedDate=Days(-20))

LEADS = {
    "lead.matsumoto_daisuke": dict(LastName="松本", FirstName="大輔", Company="名古屋精機株式会社",
                                   Phone="052-123-4567", Status="Working - Contacted", LeadSource="Phone Inquiry"),
    "lead.kimura_takuya": dict(LastName="木村", FirstName="拓也", Company="木村デザイン事務所",
                               MobilePhone="080-9876-5432", Status="Open - Not Contacted", LeadSource="Web"),
    "lead.yamamoto_kenichi": dict(LastName="山本", FirstName="健一", Company="山本建設株式会社",
                                  Phone="092-345-6789", LeadSource="Web", **_CONVERTED,
                                  ConvertedAccountId=_ref("account.yamamoto_kensetsu"),
                                  ConvertedContactId=_ref("contact.yamamoto_kenichi"),
                                  ConvertedOpportunityId=_ref("opportunity.yamamoto_app")),
    "lead.shimizu_rina": dict(LastName="清水", FirstName="里奈", Company="株式会社未来教育",
                              Phone="092-111-2222", **_CONVERTED,
                              ConvertedAccountId=_ref("account.mirai_kyoiku"),
                              ConvertedContactId=_ref("contact.morita_jun")),
    "lead.emily_chen": dict(LastName="Chen", FirstName="Emily", Company="Harbor Analytics LLC",
                            Phone="+1 212 555 0147", Status="Working - Contacted", LeadSource="Trade Show"),
    "lead.mori_haruka": dict(LastName="森", FirstName="遥", Company="森会計事務所",
                             Email="haruka.mori@mori-kaikei.example.jp", Rating="Warm"),
}


def _opportunity(name: str, account: str, stage: str, close_in_days: int, amount: int, **values) -> dict:
    return dict(Name=name, AccountId=_ref(account), StageName=stage, CloseDate=Days(close_in_days),
                Amount=amount, **values)


OPPORTUNITIES = {
    "opportunity.yamada_callcenter": _opportunity("山田商事 コールセンター刷新", "account.yamada_shoji",
                                                  "Negotiation/Review", 14, 4_800_000, NextStep="最終見積の提示"),
    "opportunity.yamada_licenses": _opportunity("山田商事 追加ライセンス", "account.yamada_shoji", "Closed Won",
                                                -40, 600_000, Type="Existing Customer - Upgrade"),
    "opportunity.sakura_mes": _opportunity("さくら工業 生産管理システム", "account.sakura_kogyo",
                                           "Proposal/Price Quote", 30, 12_000_000),
    "opportunity.tokyo_digital_renewal": _opportunity("東京デジタル 保守契約更新", "account.tokyo_digital",
                                                      "Closed Lost", -10, 900_000),
    "opportunity.mirai_platform": _opportunity("未来教育 オンライン講座基盤", "account.mirai_kyoiku",
                                               "Qualification", 60, 2_500_000),
    "opportunity.yamamoto_app": _opportunity("山本建設 現場管理アプリ", "account.yamamoto_kensetsu", "Prospecting",
                                             45, 1_800_000, LeadSource="Web"),
    "opportunity.pacific_expansion": _opportunity("Pacific Trading Japan expansion", "account.pacific_trading",
                                                  "Value Proposition", 90, 7_500_000),
}

CONTACT_ROLES = {
    "role.yamada_callcenter_taro": dict(OpportunityId=_ref("opportunity.yamada_callcenter"),
                                        ContactId=_ref("contact.yamada_taro"), Role="Decision Maker",
                                        IsPrimary=True),
    "role.yamada_callcenter_suzuki": dict(OpportunityId=_ref("opportunity.yamada_callcenter"),
                                          ContactId=_ref("contact.suzuki_ichiro"), Role="Evaluator"),
    "role.yamada_licenses_taro": dict(OpportunityId=_ref("opportunity.yamada_licenses"),
                                      ContactId=_ref("contact.yamada_taro"), Role="Economic Buyer", IsPrimary=True),
    "role.sakura_mes_sho": dict(OpportunityId=_ref("opportunity.sakura_mes"), ContactId=_ref("contact.yoshida_sho"),
                                Role="Decision Maker", IsPrimary=True),
    "role.sakura_mes_aya": dict(OpportunityId=_ref("opportunity.sakura_mes"), ContactId=_ref("contact.yoshida_aya"),
                                Role="Technical Buyer"),
    "role.tokyo_digital_takahashi": dict(OpportunityId=_ref("opportunity.tokyo_digital_renewal"),
                                         ContactId=_ref("contact.takahashi_misaki"), Role="Evaluator",
                                         IsPrimary=True),
    "role.yamamoto_app_kenichi": dict(OpportunityId=_ref("opportunity.yamamoto_app"),
                                      ContactId=_ref("contact.yamamoto_kenichi"), Role="Executive Sponsor",
                                      IsPrimary=True),
    "role.pacific_smith": dict(OpportunityId=_ref("opportunity.pacific_expansion"),
                               ContactId=_ref("contact.john_smith"), Role="Decision Maker", IsPrimary=True),
}


def _task(subject: str, who: str | None, what: str | None, status: str = "Not Started", due: int | None = None,
          **values) -> dict:
    task = dict(Subject=subject, Status=status, **values)
    if who:
        task["WhoId"] = _ref(who)
    if what:
        task["WhatId"] = _ref(what)
    if due is not None:
        task["ActivityDate"] = Days(due)
    return task


def _call(subject: str, who: str, what: str | None, call_type: str, seconds: int, days_ago: int, call_object: str,
          **values) -> dict:
    return _task(subject, who, what, "Completed", -days_ago, TaskSubtype="Call", Type="Call", CallType=call_type,
                 CallDurationInSeconds=seconds, CallObject=call_object, CompletedDateTime=DaysAgoAt(days_ago),
                 **values)


TASKS = {
    "task.yamada_overdue_callback": _task("折り返し電話", "contact.yamada_taro", "opportunity.yamada_callcenter",
                                          due=-3, Priority="High", Description="見積の件で折り返し希望"),
    "task.yamada_send_quote": _task("見積書を送付", "contact.yamada_taro", "opportunity.yamada_callcenter",
                                    "In Progress", due=2),
    "task.yamada_undated": _task("導入事例の資料を確認", "contact.yamada_taro", None),
    "task.yamada_hearing_done": _task("初回ヒアリング", "contact.yamada_taro", "account.yamada_shoji", "Completed",
                                      due=-10, CompletedDateTime=DaysAgoAt(10)),
    "task.call_inbound_yamada": _call("通話 - 着信 / 5分", "contact.yamada_taro", "opportunity.yamada_callcenter",
                                      "Inbound", 312, 7, "seed-call-0001", Panel_Call_Key__c="seed-call-0001",
                                      Description="来月の導入スケジュールについて"),
    "task.call_outbound_suzuki": _call("通話 - 発信 / 2分", "contact.suzuki_ichiro", None, "Outbound", 95, 2,
                                       "seed-call-0002"),
    "task.sakura_demo": _task("デモ日程の調整", "contact.yoshida_sho", "opportunity.sakura_mes", due=5),
    "task.sakura_overdue": _task("技術資料の送付", "contact.yoshida_aya", "opportunity.sakura_mes", due=-1),
    "task.takahashi_followup_done": _task("失注理由のヒアリング", "contact.takahashi_misaki",
                                          "opportunity.tokyo_digital_renewal", "Completed", due=-8,
                                          CompletedDateTime=DaysAgoAt(8)),
    "task.matsumoto_lead_call": _call("通話 - 着信 / 1分", "lead.matsumoto_daisuke", None, "Inbound", 48, 1,
                                      "seed-call-0003"),
    "task.kimura_lead_followup": _task("初回連絡", "lead.kimura_takuya", None, due=0),
    "task.mirai_account_task": _task("提案書の準備", None, "opportunity.mirai_platform", "Deferred", due=20),
    "task.smith_meeting": _task("Schedule visit to Tokyo office", "contact.john_smith",
                                "opportunity.pacific_expansion", due=-2, Priority="Low"),
    "task.missed_call_watanabe": _call("通話 - 不在着信", "contact.watanabe_naoki", None, "Inbound", 0, 3,
                                       "seed-call-0004", CallDisposition="不在"),
}

# The order fixes every id; append, never reorder.
_SECTIONS = (("User", USERS), ("Account", ACCOUNTS), ("Contact", CONTACTS), ("Lead", LEADS),
             ("Opportunity", OPPORTUNITIES), ("OpportunityContactRole", CONTACT_ROLES), ("Task", TASKS))


def _ids() -> dict[str, str]:
    generator = ids.IdGenerator()
    result, sequence = {}, 0
    for sobject, section in _SECTIONS:
        prefix = schema.get_sobject(sobject).key_prefix
        for key in section:
            sequence += 1
            result[key] = generator.make(prefix, sequence)
    return result


IDS: dict[str, str] = _ids()
SEED_PHONES: dict[str, tuple[str, tuple[str, ...]]] = {
    "hyphenated_landline": ("03-1234-5678", ("contact.yamada_taro",)),
    "mobile": ("090-1234-5678", ("contact.yamada_taro",)),
    "e164_spaced": ("+81 3 2345 6789", ("contact.suzuki_ichiro",)),
    "e164_trunk_zero": ("+81 (0)3-3456-7890", ("contact.takahashi_misaki",)),
    "area_code_in_brackets": ("(03)4567-8901", ("contact.tanaka_kenta",)),
    "dotted": ("03.5678.9012", ("contact.ito_sakura",)),
    "full_width": ("０３－５５５５－１２３４", ("contact.watanabe_naoki",)),
    "country_code_without_plus": ("81367890123", ("contact.nakamura_yuko",)),
    "extension_naisen": ("03-1234-9999 内線 123", ("contact.kobayashi_makoto",)),
    "extension_ext": ("+81 3 8765 4321 ext. 45", ("contact.kato_megumi",)),
    "us_number": ("+1 (415) 555-0100", ("contact.john_smith",)),
    "shared_by_two_contacts": ("06-6123-4567", ("contact.yoshida_sho", "contact.yoshida_aya")),
    "lead_and_contact": ("052-123-4567", ("lead.matsumoto_daisuke", "contact.inoue_yoko")),
    "lead_mobile_only": ("080-9876-5432", ("lead.kimura_takuya",)),
    "account_only": ("011-222-3333", ("account.hokkaido_foods",)),
    "converted_lead_and_contact": ("092-345-6789", ("lead.yamamoto_kenichi", "contact.yamamoto_kenichi")),
}
USER_IDS = {section_key.removeprefix("user."): IDS[section_key] for section_key in USERS}

# Records are owned by the first agent unless listed here.
_OWNERS = {"contact.yoshida_sho": "user.agent2", "contact.yoshida_aya": "user.agent2",
           "account.sakura_kogyo": "user.agent2", "opportunity.sakura_mes": "user.agent2",
           "task.sakura_demo": "user.agent2", "task.sakura_overdue": "user.agent2"}


def records_at(now: float) -> Iterator[tuple[str, dict, float]]:
    """(sobject, stored record, changed_at) for every seeded record, as of a reset at `now` (epoch seconds)."""
    today = datetime.fromtimestamp(now, tz=ORG_TIMEZONE).date()
    built: dict[str, dict] = {}
    lookup = built.get
    creator = IDS["user.integration"]
    for position, (key, sobject, values) in enumerate(_all_values()):
        obj = schema.get_sobject(sobject)
        age_days = 60 - position * 0.25
        changed_at = now - age_days * 86400
        resolved = {name: _resolve(value, today, now) for name, value in values.items()}
        writable = {k: v for k, v in resolved.items() if obj.field(k).createable}
        preset = {k: v for k, v in resolved.items() if k not in writable}
        if sobject == "User":
            stored = records.complete(obj, {**resolved, "Id": IDS[key]}, user_id=creator, now=changed_at,
                                      lookup=lookup)
        else:
            checked = records.validate(obj, writable, creating=True, lookup=lookup)
            if obj.field("OwnerId"):
                checked["OwnerId"] = IDS[_OWNERS.get(key, "user.agent")]
            stored = records.complete(obj, {**checked, **preset, "Id": IDS[key]}, user_id=creator,
                                      now=changed_at, lookup=lookup)
        built[stored["Id"]] = stored
        yield obj.name, stored, changed_at


def _all_values() -> list[tuple[str, str, dict]]:
    # Conversion fields of Leads point at later records; they are read-only, so only stored, never looked up.
    return [(key, sobject, values) for sobject, section in _SECTIONS for key, values in section.items()]


def _resolve(value: object, today, now: float) -> object:
    if isinstance(value, Days):
        return (today + timedelta(days=value.offset)).isoformat()
    if isinstance(value, DaysAgoAt):
        return formats.format_datetime(datetime.fromtimestamp(now - value.days * 86400, tz=timezone.utc))
    if isinstance(value, str) and value.startswith("@"):
        return IDS[value[1:]]
    return value


def sequence_start() -> int:
    """Where ids of records created after a reset start: past the seed, and different from the last reset's."""
    return 10_000 + ids.base62_sequence_seed()
