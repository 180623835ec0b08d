"""The call-logging pipeline: what one job does for a call, from its stored events to its one Salesforce Task.

`log_call` runs under the call's lease (panel.calls.ledger) and does what is left for the call:

1. Fold every stored event into the call's state (order and repetition do not matter).
2. Ringing or answered: pre-fetch the agent's screen pop (so the pop at answer costs no API request) and keep
   the verified candidates for the end. No end event after `LoggingSettings.call_timeout_s`: the call is closed
   with what is known.
3. Ended: `should_log` decides (internal and missed calls are skipped unless enabled, a voicemail is logged);
   `panel.calls.choice.choose_record` says which record the Task is about (several matches or none: the review
   queue).
4. Exactly one completed Task: the call's Task if the agent's notes created it (or a lost write may have),
   closed; otherwise created (through an upsert on the external id field when one is configured). Its fields
   come from panel.calls.logging_rules.
   The subject is the one the agent typed on the panel's task form (`calls.agent_subject`), else the template's;
   `calls.task_subject` is the subject last written, so a Task someone renamed in Salesforce keeps its name.
   A call of several legs (a transfer) is one interaction and one Task (panel.calls.state): when the dialer names
   its legs, the call is logged `LoggingSettings.transfer_settle_s` after its last event once every leg has ended,
   and a leg, a correction or a fact (recording, transcript, summary) arriving after the Task was written re-opens
   the call and updates that same Task: the owner (the agent who handled it last), duration and subject as the
   close computes them, and each fact appended once (`calls.facts_written`, and the Description checked first).
   A fact of a call not logged waits: a voicemail makes a missed call logged, the rest stays with it.
5. Failures: Salesforce unreachable, a lock, a limit → retry with exponential backoff and full jitter for up to
   `retry_for_s`; no usable connection → wait for one; anything Salesforce will refuse again → the review queue
   with the error. Anything else that goes wrong (a bug, an event the pipeline cannot read) is counted on the call's
   row, retried with the same backoff, and the call goes to the review queue with the error at its
   `UNEXPECTED_FAILURE_LIMIT`th failed attempt: no call is retried for ever, none stays `open` unseen.

Connections: the agent's own stored token (the Task is then theirs by default); else the integration connection
with OwnerId set to the agent's User (matched by e-mail or username); else the call waits. Clients come from
panel.signin.connections. An agent nobody resolves (a dialer's identity no PANEL_DIALER_USERS row names: empty
`agent_email`, or an e-mail no Salesforce user has) sends a call that is to be logged to the review queue with
the reason `agent` (a missed call that is not logged is skipped as usual); once a reviewer chose its record, the
call is logged with the integration connection and no OwnerId (the integration user owns the Task; anyone may
reassign it in Salesforce).

The settings arrive as a `LoggingSettings` and the pop's `PopSettings` (the lookup, the number's region), read once
from the configuration and handed down by the job (panel.calls.jobs); nothing here reads the app's configuration.
The queue, the sweep and the workers are panel.calls.jobs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeoutError

from panel.callers import lookup, picks
from panel.callers.matching import Candidate
from panel.calls import ledger
from panel.calls.choice import ToReview, choose_record
from panel.calls.ledger import CallRecord, ReviewItem, StoredEvent, as_utc, utcnow
from panel.calls.logging_rules import (LoggingSettings, TemplateError, close_task_fields, should_log, task_fields,
                                       task_language, who_and_what, with_timeout_note)
from panel.calls.retry import backoff_delay, is_transient
from panel.calls.state import CallState, apply, timed_out
from panel.extensions import cache, db
from panel.logs import redact
from panel.phone import is_withheld, parse_caller
from panel.salesforce import call_tasks, queries
from panel.salesforce.errors import ReconnectRequired, SalesforceError, SalesforceRequestError, SalesforceUnavailable
from panel.salesforce.ids import record_key
from panel.salesforce.tasks import TaskRejected
from panel.signin import connections
from panel.signin.models import UnreadableToken

__all__ = ["BUSY_RETRY_S", "MARK_PROCESSED", "OWN_STORAGE_FAILURES", "UNEXPECTED_FAILURE_LIMIT", "Connection",
           "NeedsReview", "Retry", "choose_for", "connection_for", "failed_unexpectedly", "language_of", "log_call",
           "recover_unsure_task", "relation_of", "retry_or_fail", "to_review"]

log = logging.getLogger(__name__)

NO_CONNECTION_RETRY_S = 300.0
BUSY_RETRY_S = 1.0
# A call's events often arrive in a burst (ringing, answered, ended within a second): the job for a later event
# waits this long for the one holding the call's lease instead of going back to the queue for a second or more.
BUSY_WAIT_S = 3.0
OWNER_CACHE_S = 3600
TIMEOUT_EVENT_ID = "panel:timeout"
# Failed attempts in a row (Salesforce's transient failures count too) after which an unexpected failure sends the
# call to the review queue. A bug or an unreadable event fails the same way every time: five tries, seconds apart,
# tell it from a passing glitch.
UNEXPECTED_FAILURE_LIMIT = 5
# The panel's own database or shared cache failing is nobody's call's fault, and its failure could not be recorded
# anyway: such a job fails, huey retries it and the sweep finds the call again.
OWN_STORAGE_FAILURES = (OperationalError, InterfaceError, PoolTimeoutError, RedisConnectionError, RedisTimeoutError)
MAX_ERROR_CHARS = 2000


class Retry(Exception):
    def __init__(self, message: str, *, transient: bool = True, delay: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.delay = delay


class NeedsReview(Exception):
    def __init__(self, reason: str, candidates: list[dict] | None = None, error: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.candidates = candidates or []
        self.error = error


@dataclass
class Connection:
    """How this call reaches Salesforce: a client, the OwnerId to set (None = the client's own user), and the
    Agent whose pop cache and picks apply."""

    client: Any
    owner_id: str | None
    agent: lookup.Agent
    language: str | None
    own: bool


def log_call(call_id: str, settings: LoggingSettings, pop_settings: lookup.PopSettings,
             now: datetime | None = None) -> float | None:
    """Do what is left for the call. Returns seconds until it should run again, or None when nothing is left."""
    now = now or utcnow()
    session = db.session()
    try:
        with ledger.call_lease(call_id, ttl_s=settings.lease_ttl_s, wait_s=BUSY_WAIT_S) as record:
            # Every change to a call's row is made under its lease (here, notes, reviews), so while the job holds
            # it the row is what the job last wrote: a commit need not expire it and read it back.
            session.expire_on_commit = False
            try:
                return _advance(record, settings, pop_settings, now)
            except OWN_STORAGE_FAILURES:
                raise
            except Exception as error:  # whatever no rule foresaw: counted, so that it cannot stall the call
                log.exception("logging call %s failed unexpectedly", call_id)
                return failed_unexpectedly(call_id, error, settings, now)
    except ledger.CallBusy:
        return BUSY_RETRY_S
    finally:
        session.expire_on_commit = True


# Built once (a job runs it for every call). The table, not the entity: an ORM-enabled UPDATE would also look for
# these rows among the loaded objects.
MARK_PROCESSED = update(StoredEvent.__table__).where(
    StoredEvent.__table__.c.id.in_(bindparam("ids", expanding=True))).values(processed=True)
_MARK_CALL_PROCESSED = update(StoredEvent.__table__).where(
    StoredEvent.__table__.c.call_id == bindparam("call")).values(processed=True)


def _advance(record: CallRecord, settings: LoggingSettings, pop_settings: lookup.PopSettings,
             now: datetime) -> float | None:
    events = ledger.events_of(record.call_id)
    state = None
    for stored in events:
        state = apply(state, stored.event())
    if state is None:  # a row made by a note before any event: nothing to log yet
        db.session.commit()
        return None
    previous = _stored_state(record)
    _take_facts(record, state)
    _reopen_if_changed(record, previous, state, settings)
    fresh = [stored.id for stored in events if not stored.processed]
    if fresh:  # none when an earlier job of the call already folded this event in
        db.session.execute(MARK_PROCESSED, {"ids": fresh})
        ledger.touch(record, now)
    db.session.commit()

    if state.end is None:
        if now - state.started_at < timedelta(seconds=settings.call_timeout_s):
            if record.status == "open":
                _prefetch(record, state, pop_settings)
            return None
        state = timed_out(state, TIMEOUT_EVENT_ID)
        record.timed_out = True
        record.ended_at = state.end.ended_at
        db.session.commit()
    elif record.timed_out and state.end.event_id != TIMEOUT_EVENT_ID:
        # The real end arrived after the call was closed on its timeout: correct the same Task.
        record.timed_out = False
        if record.status in ("logged", "skipped"):
            record.status = "open"
        db.session.commit()

    if record.status in ("logged", "skipped"):
        return None
    if record.status in ("needs_review", "failed"):
        if not (record.status == "needs_review" and (record.note_who_id or record.note_what_id)):
            return None
        _resolve_open_reviews(record, by=record.agent_email, resolution="agent_note",
                              record_id=record.note_who_id or record.note_what_id, now=now)
        record.status = "open"
        db.session.commit()
    if record.next_attempt_at is not None and as_utc(record.next_attempt_at) > now:
        return (as_utc(record.next_attempt_at) - now).total_seconds()
    settled_at = _settled_at(events, state, record, settings)
    if settled_at is not None and settled_at > now:
        return (settled_at - now).total_seconds()
    return _log(record, state, settings, pop_settings, now)


def _take_facts(record: CallRecord, state: CallState) -> None:
    record.state = json.dumps(state.as_json(), ensure_ascii=False)
    record.agent_email = state.agent_email.strip().lower()
    record.direction = state.direction
    record.external_number = state.external_number
    record.started_at = state.started_at
    record.ended_at = state.end.ended_at if state.end else None


def _stored_state(record: CallRecord) -> CallState | None:
    """The state the previous job folded (what the call's Task was written from, when it was logged)."""
    try:
        return record.call_state()
    except (ValueError, KeyError, TypeError):  # written by a version that knew other fields: nothing to compare
        return None


def _reopen_if_changed(record: CallRecord, previous: CallState | None, state: CallState,
                       settings: LoggingSettings) -> None:
    """A logged call whose Task no longer says what its events do (a later leg, a corrected end, a fact not yet
    written) is logged again, to the same Task; a skipped call that should now be logged (a voicemail arrived) is
    logged. Set in the same commit as the folded state, so a job that dies in between cannot lose the change."""
    if record.status == "logged":
        unwritten = any(fact.key not in record.written_facts() for fact in state.facts)
        changed = previous is not None and previous.task_view() != state.task_view()
        if unwritten or changed:
            record.status = "open"
    elif record.status == "skipped" and record.outcome != "dismissed" and not record.timed_out:
        if should_log(state, settings)[0]:
            record.status = "open"


def _settled_at(events: list[StoredEvent], state: CallState, record: CallRecord,
                settings: LoggingSettings) -> datetime | None:
    """When a call whose dialer names its legs may be logged: `transfer_settle_s` after its last event arrived (a
    blind transfer ends one leg just before the next one rings, and deliveries reorder). None: at once (a call the
    dialer reports as one leg, as the panel's own webhook does; a call closed on its timeout)."""
    if not state.has_named_legs or record.timed_out or settings.transfer_settle_s <= 0 or not events:
        return None
    last = max(as_utc(stored.received_at) for stored in events)
    return last + timedelta(seconds=settings.transfer_settle_s)


def _prefetch(record: CallRecord, state: CallState, pop_settings: lookup.PopSettings) -> None:
    """Ringing or answered: warm the agent's pop and keep its verified candidates for the end. Best effort."""
    try:
        connection = _connection(record, own_only=True)
    except Retry:
        return
    if connection is None:
        return
    try:
        _lookup(record, state, connection, pop_settings)
        record.warmed = True
        db.session.commit()
    except OWN_STORAGE_FAILURES:
        raise
    except (Retry, NeedsReview, SalesforceError):
        db.session.rollback()
    except Exception:  # a bug in the lookup: the end looks the caller up again, and fails there if it must
        log.exception("warming the pop of call %s failed", record.call_id)
        db.session.rollback()


def _lookup(record: CallRecord, state: CallState, connection: Connection,
            pop_settings: lookup.PopSettings) -> list[Candidate]:
    """The pop for the call's number as this agent sees it (the cache makes a repeat free); keeps its verified,
    ranked matches on the call's row and returns them."""
    record.org_id = record.org_id or connection.agent.org_id
    if is_withheld(state.external_number):  # nobody to look up
        record.candidates = "[]"
        return []
    result = lookup.pop(connection.agent, state.external_number, lambda: connection.client, settings=pop_settings)
    if result.state == "unavailable" or result.stale_since is not None:
        if result.failure == "refused":
            raise Retry("Salesforce refused the phone lookup", transient=False)
        raise Retry("Salesforce was unreachable for the phone lookup")
    record.candidates = json.dumps([_candidate_json(card) for card in result.cards], ensure_ascii=False)
    return _kept_candidates(record)


def _candidate_json(card) -> dict:
    return {"record_id": card.record_id, "record_type": card.record_type, "name": card.name,
            "company": card.company, "title": card.title, "owner_name": card.owner_name,
            "person_contact_id": card.person_contact_id}


def _kept_candidates(record: CallRecord) -> list[Candidate]:
    return [Candidate(record_id=c["record_id"], record_type=c["record_type"], name=c.get("name") or "")
            for c in json.loads(record.candidates or "[]")]


def _log(record: CallRecord, state: CallState, settings: LoggingSettings, pop_settings: lookup.PopSettings,
         now: datetime, *, own_allowed: bool = True) -> float | None:
    wanted, reason = should_log(state, settings)
    if not wanted and record.task_id is None:
        record.status, record.outcome = "skipped", reason
        db.session.commit()
        return None
    record.outcome = "timed_out" if record.timed_out else (reason if wanted else "notes")
    connection = None
    try:
        unowned = _owner_left_to_integration(record)
        if not record.agent_email and not unowned:
            raise NeedsReview("agent", error=_unknown_agent(state))
        connection = _connection(record, own_allowed=own_allowed, unowned=unowned)
        if connection is None:
            raise Retry("waiting for a Salesforce connection (the agent's or the integration's)",
                         delay=NO_CONNECTION_RETRY_S)
        if record.record_id is None and record.task_id is None:
            choose_for(record, state, connection, pop_settings)
        _write(record, state, connection, settings)
    except NeedsReview as needed:
        return to_review(record, needed, now)
    except Retry as failure:
        return retry_or_fail(record, failure, settings, now)
    except TaskRejected as rejected:
        return to_review(record, NeedsReview("error", error=str(rejected)), now)
    except ReconnectRequired as error:
        if connection is not None and connection.own:  # the agent's grant is gone: the integration takes over
            db.session.rollback()
            return _log(ledger.find_call(record.call_id), state, settings, pop_settings, now, own_allowed=False)
        return retry_or_fail(record, Retry(f"the Salesforce connection was refused: {error.message}"), settings,
                              now)
    except SalesforceUnavailable as error:
        return retry_or_fail(record, Retry(error.message or "Salesforce is unreachable"), settings, now)
    except SalesforceRequestError as error:
        return retry_or_fail(record, Retry(error.message, transient=is_transient(error.error_code or "")),
                              settings, now)
    except (TemplateError, ValueError) as error:
        return to_review(record, NeedsReview("error", error=str(error)), now)
    record.status, record.logged_at = "logged", now
    record.attempts, record.first_failure_at, record.next_attempt_at, record.last_error = 0, None, None, None
    ledger.touch(record, now)
    db.session.commit()
    return None


def choose_for(record: CallRecord, state: CallState, connection: Connection,
            pop_settings: lookup.PopSettings) -> None:
    """The record to log against (panel.calls.choice); several or none go to review."""
    choice = choose_record(
        note_record_id=record.note_who_id or record.note_what_id,
        picked_during_call=picks.call_pick(record.call_id),
        remembered_pick=_remembered_pick(state, connection, pop_settings.region),
        matches_seen=None if record.candidates is None else _kept_candidates(record),
        look_up=lambda: _lookup(record, state, connection, pop_settings))
    if isinstance(choice, ToReview):
        raise NeedsReview(choice.reason, candidates=json.loads(record.candidates or "[]"))
    if choice.record_type == "Account" and record.candidates is None:
        _lookup(record, state, connection, pop_settings)  # is it a person account? (the pop's cache answers)
    record.record_id, record.record_type, record.record_source = choice.record_id, choice.record_type, choice.source


def _remembered_pick(state: CallState, connection: Connection, region: str) -> str | None:
    """The Id of the record remembered for the caller's number in the agent's org, if any."""
    number = None if is_withheld(state.external_number) else parse_caller(state.external_number, region)
    if number is None or not connection.agent.org_id:
        return None
    pick = picks.remembered_pick(connection.agent.org_id, number.e164)
    return pick.record_id if pick else None


def _write(record: CallRecord, state: CallState, connection: Connection, settings: LoggingSettings) -> None:
    """Exactly one completed Task: close the call's Task when one exists (or may), else create it."""
    client = connection.client
    language = task_language(settings, _user_language(connection, settings))
    recover_unsure_task(record, client)
    who_id, what_id = relation_of(record)
    if record.task_id is not None:
        try:
            existing = call_tasks.get_task(client, record.task_id)
        except call_tasks.TaskGone:
            record.task_id, record.task_closed = None, False
            db.session.commit()
        else:
            # The Task the agent's notes opened is related as the note said; it is repointed by a reviewer's
            # choice, when it has no relation yet, or to add the person contact of the person account it names.
            repoint = bool(who_id or what_id) and (
                record.record_source == "reviewer" or not (existing.who_id or existing.what_id)
                or (bool(who_id) and not existing.who_id and existing.what_id is not None and what_id is not None
                    and record_key(existing.what_id) == record_key(what_id)))
            fields = close_task_fields(state, existing_description=existing.description,
                                       existing_subject=existing.subject, locale=language, settings=settings,
                                       owner_id=_new_owner(existing, connection),
                                       who_id=who_id if repoint else None, what_id=what_id if repoint else None,
                                       written_subject=record.task_subject, agent_subject=record.agent_subject)
            if record.timed_out:
                fields["Description"] = with_timeout_note(fields.get("Description", existing.description),
                                                          language, settings.call_timeout_s)
            call_tasks.update_task(client, record.task_id, fields, statuses=settings.task_statuses)
            record.task_closed = True
            _written(record, state, fields.get("Subject", existing.subject))
            return
    notes = with_timeout_note(None, language, settings.call_timeout_s) if record.timed_out else None
    fields = task_fields(state, who_id=who_id, what_id=what_id, owner_id=connection.owner_id, notes=notes,
                         locale=language, settings=settings, agent_subject=record.agent_subject)
    record.task_unsure = True  # written ahead: a lost answer makes the next attempt look before creating
    db.session.commit()
    if settings.external_id_field:
        task_id, created = call_tasks.upsert_task(client, settings.external_id_field, record.call_id, fields,
                                                  statuses=settings.task_statuses)
        if not created:
            record.task_id, record.task_unsure = task_id, False
            db.session.commit()
            return _write(record, state, connection, settings)
    else:
        task_id = call_tasks.create_task(client, fields, statuses=settings.task_statuses)
    record.task_id, record.task_unsure, record.task_closed = task_id, False, True
    _written(record, state, fields.get("Subject"))


def _written(record: CallRecord, state: CallState, subject: str | None) -> None:
    """Note on the call's row what its Task now holds: every fact of the state, and the panel's subject."""
    record.facts_written = json.dumps(sorted(record.written_facts() | {fact.key for fact in state.facts}))
    record.task_subject = subject


def _new_owner(existing: call_tasks.CallTask, connection: Connection) -> str | None:
    """The OwnerId to set on the call's existing Task: the agent who handled the call last, when the Task is
    someone else's (a transfer reported after it was written); None to leave it. A Task the integration owns for
    an unknown agent stays so."""
    owner = connection.owner_id if not connection.own else connection.agent.user_id
    if not owner or not existing.owner_id or record_key(existing.owner_id) == record_key(owner):
        return None
    return owner


def recover_unsure_task(record: CallRecord, client) -> None:
    """A create whose answer was lost (`task_unsure`, written ahead of it): the Task it may have made is looked up by
    its CallObject, so the next write updates it instead of creating a second one."""
    if record.task_id is None and record.task_unsure:
        found = call_tasks.find_by_call_object(client, record.call_id)
        if found is not None:
            record.task_id = found.task_id
        record.task_unsure = False
        db.session.commit()


def _user_language(connection: Connection, settings: LoggingSettings) -> str | None:
    """The Salesforce language of the user the Task is written for (None when `settings.task_language` decides).

    The integration path learned it with the owner; the agent's own connection asks once an hour, so an agent's
    Tasks read the same whichever connection wrote them.
    """
    if connection.language or not connection.own or settings.task_language:
        return connection.language
    key = f"panel:calls:language:{connection.agent.org_id}:{connection.agent.user_id}"
    language = cache.get(key)
    if not isinstance(language, str):
        rows = connection.client.query(queries.user_by_id(connection.agent.user_id)).get("records") or []
        language = (rows[0].get("LanguageLocaleKey") if rows else None) or ""
        cache.set(key, language, timeout=OWNER_CACHE_S)
    return language or None


def relation_of(record: CallRecord) -> tuple[str | None, str | None]:
    """(WhoId, WhatId): a reviewer's choice, else the agent's note's, else the chosen record's. A note written on a
    person account's card names only the account: its person contact joins it as the WhoId, as for a match."""
    if record.record_source != "reviewer" and (record.note_who_id or record.note_what_id):
        if record.note_who_id is None:
            person = _person_contact(record, record.note_what_id)
            if person:
                return who_and_what(record.note_what_id, person_contact_id=person)
        return record.note_who_id, record.note_what_id
    if not record.record_id:
        return None, None
    return who_and_what(record.record_id, person_contact_id=_person_contact(record, record.record_id))


def _person_contact(record: CallRecord, record_id: str) -> str | None:
    """The person contact of `record_id` when the call's matches show it is a person account."""
    return next((c.get("person_contact_id") for c in json.loads(record.candidates or "[]")
                 if c.get("record_type") == "Account" and record_key(c.get("record_id") or "")
                 == record_key(record_id)), None)


# -- retry or review ------------------------------------------------------------------------------------------------

def _error_text(message: str) -> str:
    """An error as the call's row and the review queue keep it: no phone numbers or tokens (panel.logs), bounded."""
    return redact(message)[:MAX_ERROR_CHARS]


def failed_unexpectedly(call_id: str, error: Exception, settings: LoggingSettings, now: datetime) -> float | None:
    """Count an attempt that failed in a way no rule expected; try again after a backoff, or, at the
    `UNEXPECTED_FAILURE_LIMIT`th failed attempt in a row, hand the call to a reviewer with the error.

    Every stored event of the call then counts as processed: the sweep re-queues calls with unprocessed events, and
    an event the pipeline cannot read would otherwise bring the call back every minute. The reviewer's "retry" (or
    any other decision) starts a fresh count (panel.review.queue.resolve_review)."""
    db.session.rollback()
    record = ledger.find_call(call_id)
    message = _error_text(f"{type(error).__name__}: {error}")
    record.attempts = (record.attempts or 0) + 1
    record.first_failure_at = record.first_failure_at or now
    record.last_error = message
    if record.attempts >= UNEXPECTED_FAILURE_LIMIT:
        db.session.execute(_MARK_CALL_PROCESSED, {"call": call_id})
        db.session.commit()
        return to_review(record, NeedsReview("error", error=f"gave up after {record.attempts} attempts: {message}"),
                          now)
    delay = backoff_delay(record.attempts, base=settings.retry_base_s, cap=settings.retry_cap_s)
    record.next_attempt_at = now + timedelta(seconds=delay)
    ledger.touch(record, now)
    db.session.commit()
    return delay


def retry_or_fail(record: CallRecord, failure: Retry, settings: LoggingSettings, now: datetime) -> float | None:
    db.session.rollback()
    record = ledger.find_call(record.call_id)
    record.last_error = _error_text(failure.message)
    if not failure.transient:
        return to_review(record, NeedsReview("error", error=failure.message), now)
    record.attempts = (record.attempts or 0) + 1
    record.first_failure_at = record.first_failure_at or now
    if now - as_utc(record.first_failure_at) > timedelta(seconds=settings.retry_for_s):
        return to_review(record, NeedsReview("error", error=f"gave up retrying: {failure.message}"), now)
    delay = failure.delay if failure.delay is not None else backoff_delay(
        record.attempts, base=settings.retry_base_s, cap=settings.retry_cap_s)
    record.next_attempt_at = now + timedelta(seconds=delay)
    ledger.touch(record, now)
    db.session.commit()
    log.info("call logging deferred (attempt %s, retry in %.1fs): %s", record.attempts, delay, failure.message)
    return delay


def to_review(record: CallRecord, needed: NeedsReview, now: datetime) -> None:
    db.session.rollback()
    record = ledger.find_call(record.call_id)
    record.status = "failed" if needed.reason == "error" else "needs_review"
    error = _error_text(needed.error) if needed.error else None
    record.last_error = error
    record.next_attempt_at = None
    if needed.reason not in ("error", "agent"):
        record.candidates = json.dumps(needed.candidates, ensure_ascii=False)
    waiting = db.session.execute(select(ReviewItem).where(ReviewItem.call_id == record.call_id,
                                                          ReviewItem.resolved_at.is_(None))).scalars().first()
    if waiting is None:
        db.session.add(ReviewItem(call_id=record.call_id, reason=needed.reason, error=error,
                                  candidates=json.dumps(needed.candidates, ensure_ascii=False), created_at=now))
    elif error:  # the call already waits for a decision: its reviewer sees the error there
        waiting.error = error
    ledger.touch(record, now)
    db.session.commit()
    return None


def _resolve_open_reviews(record: CallRecord, *, by: str | None, resolution: str, record_id: str | None,
                          now: datetime) -> None:
    db.session.execute(update(ReviewItem).where(ReviewItem.call_id == record.call_id,
                                                ReviewItem.resolved_at.is_(None))
                       .values(resolved_at=now, resolved_by=by, resolution=resolution,
                               resolved_record_id=record_id))


# -- connections ----------------------------------------------------------------------------------------------------

def _connection(record: CallRecord, *, own_only: bool = False, own_allowed: bool = True,
                unowned: bool = False) -> Connection | None:
    """The agent's own connection, else (unless `own_only`) the integration's with the agent as owner; with
    `unowned` (a reviewer decided a call whose agent nobody resolves) the integration's with no OwnerId when the
    agent has no Salesforce user.

    None when neither exists: the call waits. A refused agent token is the caller's cue to try again with
    `own_allowed=False`. An agent with no Salesforce user raises `NeedsReview("agent")`.
    """
    email = (record.agent_email or "").strip().lower()
    own = connections.agent_connection(email) if own_allowed and email else None
    if own is not None:
        try:
            client = connections.agent_client(own, session=db.session)  # see agent_client: the job's own session
        except UnreadableToken:
            client = None
        if client is not None:
            return Connection(client=client, owner_id=None, own=True, language=None,
                               agent=lookup.Agent(org_id=own.org_id, user_id=own.user_id, name=own.name))
    if own_only:
        return None
    try:
        client, org_id = connections.integration_client()
    except SalesforceUnavailable:
        raise
    except SalesforceError as error:
        log.warning("the integration connection is unavailable: %s", error.message)
        return None
    try:
        owner = _owner(client, org_id, email)
    except NeedsReview:
        if not unowned:
            raise
        return Connection(client=client, owner_id=None, own=False, language=None,
                           agent=lookup.Agent(org_id=org_id, user_id="", name=None))
    return Connection(client=client, owner_id=owner["Id"], own=False, language=owner.get("LanguageLocaleKey"),
                       agent=lookup.Agent(org_id=org_id, user_id=owner["Id"], name=owner.get("Name")))


def _owner(client, org_id: str, login: str) -> dict:
    """The agent's Salesforce User (Id, Name, LanguageLocaleKey), remembered for an hour."""
    key = f"panel:calls:owner:{org_id}:{login}"
    owner = cache.get(key)
    if isinstance(owner, dict):
        return owner
    rows = (client.query(queries.call_owner_by_login(login)).get("records") or []) if login else []
    exact = [row for row in rows if (row.get("Email") or "").lower() == login] or rows
    if not exact:
        raise NeedsReview("agent", error=f"no active Salesforce user has the e-mail or username "
                                          f"{login or '(none)'}; the Task needs an owner")
    owner = {"Id": exact[0]["Id"], "Name": exact[0].get("Name"),
             "LanguageLocaleKey": exact[0].get("LanguageLocaleKey")}
    cache.set(key, owner, timeout=OWNER_CACHE_S)
    return owner


# -- shared with conversations --------------------------------------------------------------------------------------
# A day of text messages is logged as a call is (panel.calls.conversations): the same connection, the same choice
# of record (`choose_for`), the same retries and review queue (`retry_or_fail`, `to_review`, `failed_unexpectedly`),
# which are the pipeline's own steps, public for it.



def connection_for(record: CallRecord, who: Any, *, own_allowed: bool = True) -> Connection | None:
    """The agent's own connection, else the integration's with the agent as owner; None: wait for one. `who` names
    the agent as the events did (`agent_email`, `agent_ref`): an agent nobody resolves raises `NeedsReview`
    ("agent") until a reviewer decides, as for a call."""
    unowned = _owner_left_to_integration(record)
    if not record.agent_email and not unowned:
        raise NeedsReview("agent", error=_unknown_agent(who))
    return _connection(record, own_allowed=own_allowed, unowned=unowned)


def language_of(connection: Connection, settings: LoggingSettings) -> str:
    """The language the Task's texts are written in for this connection's user ("ja" or "en")."""
    return task_language(settings, _user_language(connection, settings))




def _owner_left_to_integration(record: CallRecord) -> bool:
    """Whether a reviewer chose the record of this call while its agent was unknown: it is then logged without an
    owner of its own (the integration user's Task). A "retry" decision instead tries the agent again."""
    decided = select(ReviewItem.id).where(ReviewItem.call_id == record.call_id, ReviewItem.reason == "agent",
                                          ReviewItem.resolved_at.is_not(None),
                                          ReviewItem.resolution.in_(("record", "lead"))).limit(1)
    return db.session.execute(decided).first() is not None


def _unknown_agent(state: CallState) -> str:
    """What the review queue shows for a call whose agent nobody resolves: the vendor's name for them."""
    who = state.agent_ref or state.agent_email or "(none)"
    return (f"the dialer named the agent {who}, who matches no PANEL_DIALER_USERS row and no Salesforce user; "
            f"add a row for them, or choose the record to log the call without an owner")
