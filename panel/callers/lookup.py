"""The screen pop: from whatever number a dialer sends to what the agent sees, in at most two API requests.

    raw number → withheld? (unknown caller, no request) → cache → SOSL ‖ one composite → verify → rank → decide

The SOSL search and the composite are sent at the same time (one round trip of waiting). The search cannot read
opportunities, so a card it alone found loads its stage with its task lists (`panel.salesforce.tasks`).

One lookup per org, user and number is in flight at a time, across threads, web processes and workers
(`panel.callers.single_flight`): a ringing call's pre-fetch and the pop arriving together cost one lookup, the
later one waiting (at most the pop's timeout) for the earlier one's answer.

A successful lookup is kept twice: briefly (`PANEL_POP_CACHE_TTL_S`, default 60 s) so a ringing call's pre-fetch
and the pop at answer share one lookup, and for days (`PANEL_POP_LAST_KNOWN_TTL_S`) as the last known answer to
show, marked as such, when Salesforce is slow or failing. Entries are per org, user and E.164 number: two agents may
see different records under Salesforce's sharing rules. Writers call `invalidate_pop` so a changed record or a new
one is seen on the next pop; the remembered pick is applied after the cache, so picking needs no new lookup.

The settings (region, match priority, cache times, search lag, timeout) come in as a `PopSettings`, built once from
the app's checked config by whoever calls (`PopSettings.from_config`): nothing here reads the Flask app.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Literal, Mapping, TypeVar

from panel.callers import picks, single_flight
from panel.extensions import cache
from panel.callers.matching import DEFAULT_PRIORITY, Candidate, decide, rank, same_record, verify
from panel.phone import (PhoneNumber, display, is_withheld, parse_caller, recent_change_patterns, search_terms,
                         sosl_find_clause)
from panel.salesforce import contacts
from panel.salesforce.contacts import ContactCard, CreateRejected, DuplicatesDetected, Match
from panel.errors import API_DISABLED_FOR_ORG
from panel.salesforce.errors import ReconnectRequired, SalesforceError, SalesforceRequestError, SalesforceUnavailable
from panel.salesforce.ids import record_key
from panel.salesforce.queries import STANDARD, PopFields

__all__ = [
    "Agent",
    "PhoneLine",
    "PopResult",
    "PopSettings",
    "Snapshot",
    "card_for_record",
    "invalidate_pop",
    "manual_search",
    "one_per_person",
    "phone_lines",
    "pick_record",
    "pop",
    "quick_create",
    "warm_pop",
    "CreateRejected",
    "DuplicatesDetected",
]

DEFAULT_CACHE_TTL_S = 60
DEFAULT_LAST_KNOWN_TTL_S = 7 * 24 * 3600
# How far back the recently-changed half of the lookup reaches. Salesforce documents no bound for its search
# index's delay; a quarter of an hour covers what orgs see in practice, and the local org's lag is a minute.
DEFAULT_SEARCH_LAG_S = 900
# How long a pop waits for each Salesforce answer before it shows the last known one instead: a ringing call will
# not wait the client's usual ten seconds.
DEFAULT_POP_TIMEOUT_S = 4.0
MIN_SEARCH_TEXT = 2  # SOSL refuses shorter search terms
# A lookup's rounds of waiting at most: the search and composite, a describe when the org refuses, the two again.
LOOKUP_ROUNDS = 3

PopState = Literal["unknown_caller", "card", "matches", "no_match", "unavailable"]
ClientSource = Callable[[], object]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PopSettings:
    """What the pop is configured with (README, "Configuration"); `from_config` reads them once from the app's
    config, which panel.config has checked."""

    region: str  # PANEL_DEFAULT_REGION: numbers written without a country code are read in it
    priority: tuple[str, ...] = DEFAULT_PRIORITY  # PANEL_MATCH_PRIORITY
    cache_ttl_s: int = DEFAULT_CACHE_TTL_S  # PANEL_POP_CACHE_TTL_S
    last_known_ttl_s: int = DEFAULT_LAST_KNOWN_TTL_S  # PANEL_POP_LAST_KNOWN_TTL_S
    search_lag_s: int = DEFAULT_SEARCH_LAG_S  # PANEL_SEARCH_LAG_S
    timeout_s: float = DEFAULT_POP_TIMEOUT_S  # PANEL_POP_TIMEOUT_S
    phone_fields: tuple[str, ...] = ()  # PANEL_PHONE_FIELDS: "Object.Field" the pop keeps to; () keeps every one

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "PopSettings":
        return cls(region=str(config["PANEL_DEFAULT_REGION"]).upper(),
                   priority=tuple(config.get("PANEL_MATCH_PRIORITY") or DEFAULT_PRIORITY),
                   cache_ttl_s=_at_least_one(config.get("PANEL_POP_CACHE_TTL_S"), DEFAULT_CACHE_TTL_S),
                   last_known_ttl_s=_at_least_one(config.get("PANEL_POP_LAST_KNOWN_TTL_S"),
                                                  DEFAULT_LAST_KNOWN_TTL_S),
                   search_lag_s=_at_least_one(config.get("PANEL_SEARCH_LAG_S"), DEFAULT_SEARCH_LAG_S),
                   timeout_s=float(config.get("PANEL_POP_TIMEOUT_S") or DEFAULT_POP_TIMEOUT_S),
                   phone_fields=tuple(config.get("PANEL_PHONE_FIELDS") or ()))


def _at_least_one(value, default: int) -> int:
    """A whole number of seconds; unset is the default, and 0 means the shortest time (a cache cannot keep 0 s)."""
    return default if value is None else max(1, int(value))


@dataclass(frozen=True)
class Agent:
    """Whose pop this is: caches and remembered picks are scoped by org and user."""

    org_id: str
    user_id: str
    name: str | None = None

    @classmethod
    def of(cls, connection) -> "Agent":
        """The agent behind a stored connection (panel.signin.models.SalesforceConnection)."""
        return cls(org_id=connection.org_id, user_id=connection.user_id, name=connection.name)


@dataclass(frozen=True)
class Snapshot:
    """One lookup's verified, ranked records for a number, and when Salesforce gave them."""

    e164: str
    cards: tuple[ContactCard, ...]
    fetched_at: datetime
    # Records read by Id alongside the lookup (the remembered pick) that turned out not to have the number.
    without_number: frozenset[str] = frozenset()
    # Search hits none of whose phone fields read has the number: in an org not described yet, the sign of phone
    # fields the pop does not know (custom ones) — see `_org_fields`.
    unverified_hits: int = 0


@dataclass(frozen=True)
class PopResult:
    """What the panel shows for a call; `state` selects the partial.

    `card` is set for the "card" state (one match, or the remembered pick among several); `cards` is every
    verified record in display order. `stale_since` is set when Salesforce failed and this is the last known
    answer; `failure` says what went wrong for the "unavailable" state ("unreachable", "refused", or
    "api_disabled": the org's edition has no API access, API_DISABLED_FOR_ORG).
    """

    state: PopState
    raw_phone: str
    number: PhoneNumber | None = None
    cards: tuple[ContactCard, ...] = ()
    card: ContactCard | None = None
    pick: picks.PickedRecord | None = None
    remembered: bool = False
    stale_since: datetime | None = None
    failure: str | None = None

    def is_picked(self, card: ContactCard) -> bool:
        """Whether `card` is the number's remembered pick."""
        return self.pick is not None and same_record(self.pick.record_id, card.record_id)

    @property
    def others(self) -> tuple[ContactCard, ...]:
        return tuple(c for c in self.cards if self.card is None or not same_record(c.record_id, self.card.record_id))


@dataclass(frozen=True)
class PhoneLine:
    """One phone field on a card: the stored text as shown, and the E.164 to dial when it parses."""

    field: str
    shown: str
    e164: str | None = None
    extension: str | None = None


# -- cache --------------------------------------------------------------------------------------------------------

def _key(kind: str, *parts: str) -> str:
    return "panel:pop:" + kind + ":" + ":".join(parts)


def _fresh_key(agent: Agent, e164: str) -> str:
    return _key("fresh", agent.org_id, agent.user_id, e164)


def _last_known_key(agent: Agent, e164: str) -> str:
    return _key("last", agent.org_id, agent.user_id, e164)


def _number_index_key(org_id: str, e164: str) -> str:
    return _key("by-number", org_id, e164)


def _record_index_key(org_id: str, record_id: str) -> str:
    return _key("by-record", org_id, record_key(record_id))


def _store(agent: Agent, snapshot: Snapshot, settings: PopSettings) -> None:
    ttl = settings.cache_ttl_s
    fresh = _fresh_key(agent, snapshot.e164)
    cache.set(fresh, snapshot, timeout=ttl)
    cache.set(_last_known_key(agent, snapshot.e164), snapshot, timeout=settings.last_known_ttl_s)
    # Indexes for invalidate_pop: which fresh entries hold this number, and which hold this record.
    _index_add(_number_index_key(agent.org_id, snapshot.e164), fresh, ttl)
    for card in snapshot.cards:
        _index_add(_record_index_key(agent.org_id, card.record_id), fresh, ttl)


def _index_add(index_key: str, entry: str, ttl: int) -> None:
    entries = set(cache.get(index_key) or ())
    entries.add(entry)
    cache.set(index_key, entries, timeout=ttl + 5)


def invalidate_pop(org_id: str, *, record_id: str | None = None, number: PhoneNumber | None = None) -> None:
    """Forget cached lookups that a write made stale, for every user of the org.

    Call it after writing to a record (`record_id`: every cached pop showing it) or after creating or changing a
    record's phone (`number`, as `panel.phone.parse_caller` reads it: every cached pop for that number). The last
    known answers kept for outages stay; the next successful lookup replaces them.
    """
    indexes = []
    if record_id:
        indexes.append(_record_index_key(org_id, record_id))
    if number is not None:
        indexes.append(_number_index_key(org_id, number.e164))
    for index_key in indexes:
        entries = cache.get(index_key) or ()
        if entries:
            cache.delete_many(*entries)
        cache.delete(index_key)


# -- the lookup ---------------------------------------------------------------------------------------------------

def _client(source):
    return source() if callable(source) and not hasattr(source, "composite") else source


def _candidate(card: ContactCard) -> Candidate:
    return Candidate(record_id=card.record_id, record_type=card.record_type, name=card.name or "",
                     company=card.company, title=card.title, owner_name=card.owner_name, phones=dict(card.phones),
                     last_modified=card.last_modified)


def _fetch(client, number: PhoneNumber, settings: PopSettings, check: tuple[str, str] | None = None,
           fields: PopFields = STANDARD) -> Snapshot:
    """Two API requests sent at once, so the lookup waits for one round trip: the SOSL search for the number
    (every card field but the opportunities) and one composite with the recently changed records.

    `check` is a (record type, Id) read in the same composite to learn whether it still has the number: the
    remembered pick, which the search no longer returns once someone changed the record's phone. `fields` is what
    the user's org lets the statements name (see `_org_fields`).
    """
    ids = {check[0]: [check[1]]} if check is not None and check[0] in contacts.PHONE_FIELDS else {}
    lag = settings.search_lag_s
    fetched_at = datetime.now(timezone.utc)
    found, changed = _both(
        lambda: contacts.search_cards(client, sosl_find_clause(search_terms(number)), fields=fields),
        lambda: contacts.fetch_cards(client, ids=ids, changed_since=fetched_at - timedelta(seconds=lag),
                                     phone_patterns=recent_change_patterns(number), fields=fields))
    # A record both found and recently changed is taken from the composite: it has its opportunities.
    by_id = {record_key(card.record_id): card for card in found}
    by_id.update({record_key(card.record_id): card for card in changed})
    ordered = rank(verify([_candidate(card) for card in by_id.values()], number, settings.region),
                   settings.priority)
    kept = {record_key(c.record_id) for c in ordered}
    lost = frozenset(record_key(card.record_id) for card in changed
                     if check is not None and same_record(card.record_id, check[1])) - kept
    unverified = sum(1 for card in found if record_key(card.record_id) not in kept)
    cards = [by_id[record_key(c.record_id)] for c in ordered]
    if not fields.described and _maybe_person_contacts(cards):
        unverified += 1  # maybe a person account and its person contact, which only describe tells apart
    return Snapshot(e164=number.e164, cards=tuple(one_per_person(cards)), fetched_at=fetched_at,
                    without_number=lost, unverified_hits=unverified)


_Record = TypeVar("_Record", ContactCard, Match)


def one_per_person(records: list[_Record]) -> list[_Record]:
    """`records` without the person contacts whose person account is among them: in an org with Person Accounts
    the two are one person (SOAP API Developer Guide, "Person Account Record Types"), shown and logged as the
    account (its Task's WhoId is the person contact)."""
    accounts = {record_key(r.record_id) for r in records if r.record_type == "Account"}
    return [r for r in records
            if not (r.record_type == "Contact" and r.is_person and record_key(r.account_id or "") in accounts)]


def _maybe_person_contacts(cards: list[ContactCard]) -> bool:
    """Whether a Contact may be a person account's person contact, in an org not described yet: found with its
    own Account (both have the person's phone), or its Account named as the Contact is (a person account's name is
    its person's). Only describe's `IsPersonAccount` tells; in an org without Person Accounts such a Contact costs
    one describe per agent and hour."""
    accounts = {record_key(c.record_id) for c in cards if c.record_type == "Account"}
    return any(c.record_type == "Contact" and c.account_id
               and (record_key(c.account_id) in accounts or (c.company and c.company == c.name)) for c in cards)


_T = TypeVar("_T")
POP_FIELDS_TTL_S = 3600
# What Salesforce answers when a statement names a field (hidden by field-level security, or not filterable: an
# encrypted one in WHERE) or an object (no Read access) its user cannot use.
_ORG_REFUSALS = ("INVALID_FIELD", "INVALID_TYPE")


def _fields_key(agent: Agent) -> str:
    return _key("pop-fields", agent.org_id, agent.user_id)


def _org_fields(agent: Agent, client, settings: PopSettings, run: Callable[[PopFields], _T], *,
                doubtful: Callable[[_T], bool] = lambda _: False) -> _T:
    """`run(fields)`, with `fields` what the agent's org lets the pop's statements name (`PopFields`).

    An org as Salesforce ships it needs nothing: the standard phone fields, every object, so it never pays for a
    describe. Real orgs differ, and show it one of two ways: Salesforce refuses a statement (INVALID_FIELD for a
    field hidden by field-level security or an encrypted one in a filter, INVALID_TYPE for an object the user may
    not read), or the search finds records none of whose known phone fields has the number (`doubtful`: custom
    phone fields are searched by IN PHONE FIELDS but not read). Then the pop's objects are
    described once (one API request), what describe says is remembered for this user for an hour, and `run` is
    tried once more with it. The doctor page names hidden fields.
    """
    known = cache.get(_fields_key(agent)) or STANDARD.narrowed(settings.phone_fields)
    try:
        result = run(known)
    except SalesforceRequestError as refused:
        if refused.error_code not in _ORG_REFUSALS:
            raise
        learned = _describe(agent, client, settings)
        if learned.same_as(known):  # nothing new to leave out: the refusal is about something else
            raise
        return run(learned)
    if known.described or not doubtful(result):
        return result
    learned = _describe(agent, client, settings)
    return result if learned.same_as(known) else run(learned)


def _describe(agent: Agent, client, settings: PopSettings) -> PopFields:
    learned = contacts.describe_pop_fields(client).narrowed(settings.phone_fields)
    cache.set(_fields_key(agent), learned, timeout=POP_FIELDS_TTL_S)
    log.info("screen pop: described the org for the user: %d hidden field(s) (%s), objects left out: %s, "
             "phone fields: %s", len(learned.hidden), ", ".join(sorted(learned.hidden)) or "none",
             ", ".join(sorted(learned.unreadable)) or "none",
             "; ".join(f"{sobject} {', '.join(names)}" for sobject, names in learned.phones))
    return learned


def _both(first: Callable[[], object], second: Callable[[], object]) -> tuple[object, object]:
    """Run two Salesforce requests at the same time and return both answers.

    `first` runs on a helper thread in a copy of this context (the app context, for a token refresh's callback).
    When both fail, the failure that decides what the agent sees wins: an expired grant over the rest.
    """
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pop") as pool:
        pending = pool.submit(context.run, first)
        failures: list[SalesforceError] = []
        try:
            second_answer = second()
        except SalesforceError as error:
            failures.append(error)
        try:
            first_answer = pending.result()
        except SalesforceError as error:
            failures.append(error)
    if failures:
        raise next((f for f in failures if isinstance(f, ReconnectRequired)), failures[0])
    return first_answer, second_answer


def _pop_deadline(client, seconds: float):
    """The pop's shorter read timeout, where the client offers one (a SalesforceClient does)."""
    limit = getattr(client, "read_timeout", None)
    return limit(seconds) if limit is not None else contextlib.nullcontext(client)


def _candidate_of_match(hit: Match) -> Candidate:
    return Candidate(record_id=hit.record_id, record_type=hit.record_type, name=hit.name or "",
                     phones=dict(hit.phones), last_modified=hit.last_modified)


def _snapshot(agent: Agent, number: PhoneNumber, client_source, settings: PopSettings,
              check: tuple[str, str] | None = None) -> tuple[Snapshot | None, str | None]:
    """(snapshot, failure): a fresh cached or new lookup with no failure, or the last known one with the failure.

    One lookup per agent and number at a time (`single_flight`): a pop arriving while the same lookup is in flight
    (a ringing call's pre-fetch on a worker, another tab, another web process) waits for its answer, up to the
    pop's timeout, instead of asking Salesforce again.
    """
    fresh = _fresh_key(agent, number.e164)
    cached = cache.get(fresh)
    if cached is not None:
        return cached, None

    def answered() -> tuple[Snapshot, None] | None:
        found = cache.get(fresh)
        return (found, None) if found is not None else None

    return single_flight.once(_key("flight", agent.org_id, agent.user_id, number.e164), ready=answered,
                              work=lambda: _look_up(agent, number, client_source, settings, check),
                              hold_s=LOOKUP_ROUNDS * settings.timeout_s + 1, wait_s=settings.timeout_s)


def _look_up(agent: Agent, number: PhoneNumber, client_source, settings: PopSettings,
             check: tuple[str, str] | None) -> tuple[Snapshot | None, str | None]:
    """Ask Salesforce (the cache missed); a successful answer is stored for the agent's next pops."""
    try:
        client = _client(client_source)
        with _pop_deadline(client, settings.timeout_s):
            snapshot = _org_fields(agent, client, settings,
                                   lambda fields: _fetch(client, number, settings, check, fields),
                                   doubtful=lambda found: found.unverified_hits > 0)
    except ReconnectRequired:
        raise
    except SalesforceUnavailable:
        return cache.get(_last_known_key(agent, number.e164)), "unreachable"
    except SalesforceError as refused:
        log.warning("screen pop lookup refused by Salesforce", exc_info=True)
        failure = "api_disabled" if refused.error_code == API_DISABLED_FOR_ORG else "refused"
        return cache.get(_last_known_key(agent, number.e164)), failure
    _store(agent, snapshot, settings)
    return snapshot, None


def pop(agent: Agent, raw_phone: str | None, client_source, *, settings: PopSettings, choose: bool = False,
        refresh: bool = False) -> PopResult:
    """The panel state for a call from (or to) `raw_phone`.

    `client_source` is a SalesforceClient or a function returning one; it is only called when Salesforce must be
    asked, so withheld numbers and cached lookups never open a connection. `choose` shows the pick list even when
    a remembered pick would open a card (the agent asked to change the pick). `refresh` skips this agent's cached
    answer (the agent just changed something in Salesforce and asked to look again).
    """
    raw = raw_phone or ""
    number = None if is_withheld(raw) else parse_caller(raw, settings.region)
    if number is None:
        return PopResult("unknown_caller", raw)
    if refresh:
        cache.delete(_fresh_key(agent, number.e164))
    pick = picks.pick_for_pop(agent.org_id, number.e164)
    snapshot, failure = _snapshot(agent, number, client_source, settings,
                                  (pick.record_type, pick.record_id) if pick is not None else None)
    if snapshot is None:
        return PopResult("unavailable", raw, number, failure=failure)
    stale_since = snapshot.fetched_at if failure else None
    if pick is not None and not failure and record_key(pick.record_id) in snapshot.without_number:
        # Someone changed the picked record's phone: the pick answered "who has this number", which it no longer
        # does, so it is forgotten rather than reapplied should the number come back.
        picks.forget_pick(agent.org_id, number.e164)
        pick = None
    cards_by_id = {card.record_id: card for card in snapshot.cards}
    decision = decide([_candidate(card) for card in snapshot.cards], pick.record_id if pick else None)
    common = dict(raw_phone=raw, number=number, cards=snapshot.cards, pick=pick, stale_since=stale_since)
    if decision.kind == "none":
        return PopResult("no_match", **common)
    if decision.kind == "several" or (choose and len(snapshot.cards) > 1):
        return PopResult("matches", **common)
    return PopResult("card", card=cards_by_id[decision.record.record_id], remembered=decision.kind == "remembered",
                     **common)


def warm_pop(client_source, agent: Agent, raw_phone: str | None, *, settings: PopSettings) -> bool:
    """Pre-fetch the pop for a ringing call so the pop at answer costs no API request.

    Safe to call from a worker (needs an app context, not a request). Returns True when a fresh lookup is now
    cached; False for withheld numbers and when Salesforce failed (the pop at answer will try again).
    """
    number = None if is_withheld(raw_phone) else parse_caller(raw_phone or "", settings.region)
    if number is None:
        return False
    _, failure = _snapshot(agent, number, client_source, settings)
    return failure is None


def pick_record(agent: Agent, raw_phone: str, record_id: str, client_source, *, settings: PopSettings,
                call_id: str | None = None) -> PopResult | None:
    """Remember `record_id` as the caller for this number and return the pop that now opens it.

    Only one of the number's verified matches can be picked (None otherwise). The matches come from the cache, so
    a pick made while the pick list is on screen costs no API request.
    """
    number = None if is_withheld(raw_phone) else parse_caller(raw_phone or "", settings.region)
    if number is None:
        return None
    snapshot, failure = _snapshot(agent, number, client_source, settings)
    chosen = next((c for c in snapshot.cards if same_record(c.record_id, record_id)), None) if snapshot else None
    if chosen is None:
        return None
    saved = picks.remember_pick(agent.org_id, number.e164, record_id=chosen.record_id,
                                record_type=chosen.record_type, user_id=agent.user_id, user_name=agent.name,
                                call_id=call_id)
    return PopResult("card", raw_phone, number, cards=snapshot.cards, card=chosen, pick=saved.as_picked(),
                     remembered=len(snapshot.cards) > 1, stale_since=snapshot.fetched_at if failure else None)


def card_for_record(client_source, record_type: str, record_id: str, agent: Agent, *,
                    settings: PopSettings) -> ContactCard | None:
    """One record's card (after a manual search), in one API request, naming what the agent's org allows
    (`_org_fields`)."""
    if record_type not in contacts.PHONE_FIELDS:
        return None
    client = _client(client_source)
    cards = _org_fields(agent, client, settings, lambda fields: contacts.fetch_cards(
        client, ids={record_type: [record_id]}, fields=fields))
    return next((c for c in cards if same_record(c.record_id, record_id)), None)


def manual_search(client_source, text: str, agent: Agent, *, settings: PopSettings) -> list[Match]:
    """The no-match state's search box: a number searches phone fields (verified), anything else every field,
    naming what the agent's org allows (`_org_fields`).

    Raises ValueError with a message for the agent when `text` is too short to search.
    """
    cleaned = " ".join((text or "").split())
    # SOSL counts only letters and digits: "0:" or "::" is refused by Salesforce, so refuse it here first.
    if sum(ch.isalpha() or ch.isdigit() for ch in unicodedata.normalize("NFKC", cleaned)) < MIN_SEARCH_TEXT:
        raise ValueError("too_short")
    number = _typed_number(cleaned, settings.region)
    client = _client(client_source)
    if number is not None:
        def verified(fields: PopFields) -> tuple[list[Match], int]:
            hits = contacts.search_phone(client, sosl_find_clause(search_terms(number)), fields=fields)
            kept = {c.record_id for c in verify([_candidate_of_match(h) for h in hits], number, settings.region)}
            return [hit for hit in hits if hit.record_id in kept], len(hits) - len(kept)

        return one_per_person(_org_fields(agent, client, settings, verified, doubtful=lambda found: found[1] > 0)[0])
    return one_per_person(_org_fields(agent, client, settings, lambda fields: contacts.search_text(
        client, sosl_find_clause([cleaned]), fields=fields)))


def _typed_number(text: str, region: str) -> PhoneNumber | None:
    """A search text that is a phone number rather than a name ("03-1234-5678", "+81 90 …", "０９０…")."""
    digits = sum(ch.isdigit() for ch in text)
    if digits < 5 or digits < len([ch for ch in text if not ch.isspace()]) * 0.6:
        return None
    return parse_caller(text, region)


def quick_create(client_source, agent: Agent, record_type: str, values: Mapping[str, str], *,
                 settings: PopSettings, allow_duplicates: bool = False) -> ContactCard:
    """Create a Lead or Contact for a caller nobody has on record (one API request) and make the next pop find it.

    `values` are checked by `panel.callers.new_record.check`. `DuplicatesDetected` when the org's duplicate rules
    match existing records (offer those; `allow_duplicates` saves past rules that only alert)."""
    client = _client(client_source)
    card = _org_fields(agent, client, settings, lambda fields: contacts.create_record(
        client, record_type, values, fields=fields, allow_duplicates=allow_duplicates))
    for phone in card.phones.values():
        number = parse_caller(phone, settings.region) if phone else None
        if number is not None:
            invalidate_pop(agent.org_id, number=number)
    return card


# -- presentation helpers -----------------------------------------------------------------------------------------

def phone_lines(card: ContactCard, region: str, locale: str | None = None) -> list[PhoneLine]:
    """The card's phone fields as the agent reads and dials them (numbers without a country code read in
    `region`), empty fields left out."""
    lines = []
    for field_name, stored in card.phones.items():
        if not stored:
            continue
        number = parse_caller(stored, region)
        if number is None:
            lines.append(PhoneLine(field_name, stored))
        else:
            lines.append(PhoneLine(field_name, display(number, locale or region), number.e164, number.extension))
    return lines
