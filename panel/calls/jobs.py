"""Background jobs: turning each call's events into exactly one Salesforce Task.

Queue: huey, on a SQLite file in the instance folder by default and on Redis when `REDIS_URL` is set (web nodes
and workers then share it). The queue only says "look at call X now"; what a call needs lives in the database
(`panel.calls.ledger`), so a lost or doubled job costs nothing: every job takes the call's lease, re-reads the call
and does what is left. A periodic sweep re-enqueues what a lost job left behind and closes calls whose end event
never came.

What one run of `log_call` does for a call:

1. Fold every stored event into the call's state (order and repetition do not matter).
2. Ringing or answered: pre-fetch the agent's screen pop (so the pop at answer costs no API request) and keep
   the verified candidates for the end.
3. Ended: `should_log` decides (internal and missed calls are skipped unless enabled, a voicemail is logged).
   The record: the one the agent's note named, else the pick made during the call, else the remembered pick for
   the number, else the single verified match; several or none go to the review queue.
4. Exactly one completed Task: the call's Task if the agent's notes created it (or a lost write may have),
   closed; otherwise created (through an upsert on the external id field when one is configured).
5. Failures: Salesforce unreachable, a lock, a limit → retry with exponential backoff and full jitter for up to
   `PANEL_CALL_RETRY_FOR_S`; no usable connection → wait for one; anything Salesforce will refuse again → the
   review queue with the error.

Connections: the agent's own stored token (the Task is then theirs by default); else the integration connection
with OwnerId set to the agent's User (matched by e-mail or username); else the call waits.

Worker: `python -m panel.worker` (production), or the in-process consumer `make run` starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app
from huey import Huey, crontab
from huey.consumer import Consumer
from huey.exceptions import RetryTask
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import and_, bindparam, func, or_, select, update

from panel.signin import auth
from panel.calls import ledger
from panel.callers import lookup, picks
from panel.calls.ledger import CallRecord, ReviewItem, StoredEvent, as_utc, utcnow
from panel.calls.logging_rules import (LoggingSettings, TemplateError, close_task_fields, should_log, task_fields,
                                       validate_subject_template, who_and_what)
from panel.calls.retry import backoff_delay, is_transient
from panel.calls.state import CallState, EndFacts
from panel.extensions import cache, db
from panel.callers.matching import Candidate, decide
from panel.phone import is_withheld, parse_caller
from panel.signin.models import SalesforceConnection, UnreadableToken
from panel.salesforce import call_tasks, queries
from panel.salesforce.client import SalesforceClient
from panel.salesforce.errors import ReconnectRequired, SalesforceError, SalesforceRequestError, SalesforceUnavailable
from panel.salesforce.ids import record_type_of
from panel.salesforce.oauth import TokenResponse, fetch_integration_token
from panel.salesforce.tasks import TaskRejected

__all__ = [
    "NOTES_SUBJECTS",
    "huey",
    "enqueue_call",
    "init_app",
    "log_call",
    "logging_settings",
    "process_call",
    "start_background_worker",
    "sweep",
]

log = logging.getLogger(__name__)

DEFAULT_CALL_TIMEOUT_S = 4 * 3600
DEFAULT_RETRY_FOR_S = 24 * 3600
DEFAULT_RETRY_BASE_S = 2.0
DEFAULT_RETRY_CAP_S = 3600.0
NO_CONNECTION_RETRY_S = 300.0
BUSY_RETRY_S = 1.0
# A call's events often arrive in a burst (ringing, answered, ended within a second): the job for a later event
# waits this long for the one holding the call's lease instead of going back to the queue for a second or more.
BUSY_WAIT_S = 3.0
SWEEP_GRACE_S = 120
UNEXPECTED_RETRIES = 5
UNEXPECTED_RETRY_DELAY_S = 2
OWNER_CACHE_S = 3600
TIMEOUT_EVENT_ID = "panel:timeout"
# The subject a notes Task carries while the call lasts; the call's end replaces it (see close_task_fields).
NOTES_SUBJECTS = {"en": "Call", "ja": "通話"}
_TIMEOUT_NOTES = {
    "en": "The dialer never reported the end of this call; it was logged with what was known after {hours:g} h.",
    "ja": "ダイヤラーから通話終了の通知がなかったため、{hours:g}時間後に把握済みの内容で記録しました。",
}

huey = Huey("panel", results=False, storage_class=MemoryStorage)


# -- configuration --------------------------------------------------------------------------------------------------

def _setting(name: str, default: Any = None) -> Any:
    """An app setting (panel.config has read and checked the environment once, at start-up)."""
    value = current_app.config.get(name)
    return default if value is None or value == "" else value


def _flag(name: str) -> bool:
    value = _setting(name, False)
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def _number(name: str, default: float) -> float:
    try:
        return max(0.0, float(_setting(name, default)))
    except (TypeError, ValueError):
        return default


def logging_settings() -> LoggingSettings:
    """The admin's call-logging choices, from the app config (see docs/call-events.md)."""
    return LoggingSettings(
        log_internal=_flag("PANEL_LOG_INTERNAL_CALLS"),
        log_missed=_flag("PANEL_LOG_MISSED_CALLS"),
        timezone=_setting("PANEL_TIMEZONE", "Asia/Tokyo"),
        subject_template=_setting("PANEL_TASK_SUBJECT_TEMPLATE"),
        external_id_field=_setting("PANEL_CALL_EXTERNAL_ID_FIELD"),
    )


def task_language(user_language: str | None = None) -> str:
    """The language Task texts are written in: PANEL_TASK_LANGUAGE, else the agent's Salesforce language."""
    chosen = _setting("PANEL_TASK_LANGUAGE") or user_language or "en"
    return "ja" if str(chosen).lower().startswith("ja") else "en"


def local_date(moment: datetime, tz_name: str) -> date:
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()


def init_app(app: Flask) -> None:
    """Point the queue at the app's storage and let jobs run inside this app. Call once from `create_app`."""
    redis_url = app.config.get("REDIS_URL")
    if app.config.get("PANEL_JOBS_MEMORY"):
        huey.storage_class, huey.storage_kwargs = MemoryStorage, {}
    elif redis_url:
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"url": redis_url}
    else:
        os.makedirs(app.instance_path, exist_ok=True)
        filename = app.config.get("PANEL_JOBS_SQLITE") or os.path.join(app.instance_path, "jobs.sqlite3")
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": filename, "timeout": 30}
    huey.storage = huey.create_storage()
    huey.flask_app = app
    template = app.config.get("PANEL_TASK_SUBJECT_TEMPLATE")
    if template:
        try:
            validate_subject_template(template)
        except TemplateError as error:
            raise RuntimeError(f"PANEL_TASK_SUBJECT_TEMPLATE: {error}") from None


def _app() -> Flask:
    app = getattr(huey, "flask_app", None)
    if app is None:
        from panel import create_app

        app = create_app()
        huey.flask_app = app
    return app


# -- the jobs ------------------------------------------------------------------------------------------------------

@huey.task(name="panel.process_call", retries=UNEXPECTED_RETRIES, retry_delay=UNEXPECTED_RETRY_DELAY_S)
def process_call(call_id: str) -> None:
    """Bring one call forward; when something is left for later, huey runs it again after the delay.

    Salesforce's failures are handled inside `log_call`; the retries here are for the unexpected (a database
    busy under SQLite's one-writer rule, a bug): a few quick tries, then the sweep picks the call up again.
    """
    huey.delete(_queued_key(call_id))  # before reading the call's events: one stored after this queues a new job
    with _app().app_context():
        delay = log_call(call_id)
    if delay is not None:
        raise RetryTask(delay=max(delay, 0.0))


@huey.periodic_task(crontab(minute="*"), name="panel.sweep_calls")
def sweep_calls() -> None:
    with _app().app_context():
        sweep()


def _queued_key(call_id: str) -> str:
    return f"panel:queued:{call_id}"


def enqueue_call(call_id: str, *, force: bool = False) -> bool:
    """Ask a worker to look at the call. False when the queue is unreachable (the sweep will find the call).

    A call's events usually arrive in a burst (ringing, answered, ended), and one job folds in every event stored
    before it starts. So a call has at most one job waiting in the queue: while one waits (its flag is set), a later
    event needs none of its own. The job clears the flag first thing. `force` queues a job regardless (the sweep,
    for a call whose waiting job was lost with a killed worker).
    """
    key = _queued_key(call_id)
    try:
        if force:
            huey.put(key, 1)
        elif not huey.put_if_empty(key, 1):
            return True
        process_call(call_id)
    except Exception:  # the event is stored; a broken queue must not lose the answer to the dialer
        log.exception("could not enqueue a call job; the sweep will pick the call up")
        with contextlib.suppress(Exception):
            huey.delete(key)
        return False
    return True


def sweep(now: datetime | None = None) -> list[str]:
    """Re-enqueue every call a lost job left behind and every call overdue for its timeout; their call IDs."""
    now = now or utcnow()
    grace = now - timedelta(seconds=SWEEP_GRACE_S)
    timeout = now - timedelta(seconds=_number("PANEL_CALL_TIMEOUT_S", DEFAULT_CALL_TIMEOUT_S))
    unprocessed = select(StoredEvent.call_id).where(StoredEvent.processed.is_(False),
                                                    StoredEvent.received_at < grace)
    stuck = select(CallRecord.call_id).where(
        CallRecord.status == "open",
        or_(and_(CallRecord.ended_at.is_(None), CallRecord.started_at < timeout),
            and_(CallRecord.ended_at.is_not(None), CallRecord.updated_at < grace,
                 or_(CallRecord.next_attempt_at.is_(None), CallRecord.next_attempt_at < grace))))
    call_ids = sorted(set(db.session.execute(unprocessed).scalars()) | set(db.session.execute(stuck).scalars()))
    db.session.rollback()
    for call_id in call_ids:
        enqueue_call(call_id, force=True)
    return call_ids


# -- one call ------------------------------------------------------------------------------------------------------

class _Retry(Exception):
    def __init__(self, message: str, *, transient: bool = True, delay: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.delay = delay


class _NeedsReview(Exception):
    def __init__(self, reason: str, candidates: list[dict] | None = None, error: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.candidates = candidates or []
        self.error = error


@dataclass
class _Connection:
    """How this call reaches Salesforce: a client, the OwnerId to set (None = the client's own user), and the
    Agent whose pop cache and picks apply."""

    client: Any
    owner_id: str | None
    agent: lookup.Agent
    language: str | None
    own: bool


def log_call(call_id: str, now: datetime | None = None) -> float | None:
    """Do what is left for the call. Returns seconds until it should run again, or None when nothing is left."""
    now = now or utcnow()
    session = db.session()
    try:
        with ledger.call_lease(call_id, wait_s=BUSY_WAIT_S) as record:
            # Every change to a call's row is made under its lease (here, notes, reviews), so while the job holds
            # it the row is what the job last wrote: a commit need not expire it and read it back.
            session.expire_on_commit = False
            return _advance(record, now)
    except ledger.CallBusy:
        return BUSY_RETRY_S
    finally:
        session.expire_on_commit = True


# Built once (a job runs it for every call). The table, not the entity: an ORM-enabled UPDATE would also look for
# these rows among the loaded objects.
_MARK_PROCESSED = update(StoredEvent.__table__).where(
    StoredEvent.__table__.c.id.in_(bindparam("ids", expanding=True))).values(processed=True)


def _advance(record: CallRecord, now: datetime) -> float | None:
    events = ledger.events_of(record.call_id)
    state = None
    for stored in events:
        state = _apply(state, stored)
    if state is None:  # a row made by a note before any event: nothing to log yet
        db.session.commit()
        return None
    _take_facts(record, state)
    fresh = [stored.id for stored in events if not stored.processed]
    if fresh:  # none when an earlier job of the call already folded this event in
        db.session.execute(_MARK_PROCESSED, {"ids": fresh})
        ledger.touch(record, now)
    db.session.commit()

    if state.end is None:
        timeout_s = _number("PANEL_CALL_TIMEOUT_S", DEFAULT_CALL_TIMEOUT_S)
        if now - state.started_at < timedelta(seconds=timeout_s):
            if record.status == "open":
                _prefetch(record, state)
            return None
        state = _timed_out(state)
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
    return _log(record, state, now)


def _apply(state: CallState | None, stored: StoredEvent) -> CallState:
    from panel.calls.state import apply

    return apply(state, stored.event())


def _take_facts(record: CallRecord, state: CallState) -> None:
    record.state = json.dumps(state.as_json(), ensure_ascii=False)
    record.agent_email = state.agent_email.strip().lower()
    record.direction = state.direction
    record.external_number = state.external_number
    record.started_at = state.started_at
    record.ended_at = state.end.ended_at if state.end else None


def _timed_out(state: CallState) -> CallState:
    """The call's end as far as it is known: when the last event came, answered if it was, talk time so far."""
    from dataclasses import replace

    last = max(m for m in (state.ringing_at, state.answered_at, state.details_key[1]) if m is not None)
    talked = int((last - state.answered_at).total_seconds()) if state.answered_at else 0
    return replace(state, end=EndFacts(event_id=TIMEOUT_EVENT_ID, ended_at=last, answered=state.answered,
                                       duration_seconds=max(0, talked)))


def _prefetch(record: CallRecord, state: CallState) -> None:
    """Ringing or answered: warm the agent's pop and keep its verified candidates for the end. Best effort."""
    try:
        connection = _connection(record, own_only=True)
    except _Retry:
        return
    if connection is None:
        return
    try:
        _lookup(record, state, connection)
        record.warmed = True
        db.session.commit()
    except (_Retry, _NeedsReview, SalesforceError):
        db.session.rollback()


def _lookup(record: CallRecord, state: CallState, connection: _Connection) -> lookup.PopResult:
    """The pop for the call's number as this agent sees it (the cache makes a repeat free); keeps candidates."""
    result = lookup.pop(connection.agent, state.external_number, lambda: connection.client)
    if result.state == "unavailable" or result.stale_since is not None:
        if result.failure == "refused":
            raise _Retry("Salesforce refused the phone lookup", transient=False)
        raise _Retry("Salesforce was unreachable for the phone lookup")
    record.org_id = record.org_id or connection.agent.org_id
    record.candidates = json.dumps([_candidate_json(card) for card in result.cards], ensure_ascii=False)
    return result


def _candidate_json(card) -> dict:
    return {"record_id": card.record_id, "record_type": card.record_type, "name": card.name,
            "company": card.company, "title": card.title, "owner_name": card.owner_name}


def _log(record: CallRecord, state: CallState, now: datetime, *, own_allowed: bool = True) -> float | None:
    settings = logging_settings()
    wanted, reason = should_log(state, settings)
    if not wanted and record.task_id is None:
        record.status, record.outcome = "skipped", reason
        db.session.commit()
        return None
    record.outcome = "timed_out" if record.timed_out else (reason if wanted else "notes")
    connection = None
    try:
        connection = _connection(record, own_allowed=own_allowed)
        if connection is None:
            raise _Retry("waiting for a Salesforce connection (the agent's or the integration's)",
                         delay=NO_CONNECTION_RETRY_S)
        if record.record_id is None and record.task_id is None:
            _choose(record, state, connection)
        _write(record, state, connection, settings)
    except _NeedsReview as needed:
        return _to_review(record, needed, now)
    except _Retry as failure:
        return _retry_or_fail(record, failure, now)
    except TaskRejected as rejected:
        return _to_review(record, _NeedsReview("error", error=str(rejected)), now)
    except ReconnectRequired as error:
        if connection is not None and connection.own:  # the agent's grant is gone: the integration takes over
            db.session.rollback()
            return _log(ledger.find_call(record.call_id), state, now, own_allowed=False)
        return _retry_or_fail(record, _Retry(f"the Salesforce connection was refused: {error.message}"), now)
    except SalesforceUnavailable as error:
        return _retry_or_fail(record, _Retry(error.message or "Salesforce is unreachable"), now)
    except SalesforceRequestError as error:
        return _retry_or_fail(record, _Retry(error.message, transient=is_transient(error.error_code or "")), now)
    except (TemplateError, ValueError) as error:
        return _to_review(record, _NeedsReview("error", error=str(error)), now)
    record.status, record.logged_at = "logged", now
    record.attempts, record.first_failure_at, record.next_attempt_at, record.last_error = 0, None, None, None
    ledger.touch(record, now)
    db.session.commit()
    return None


def _choose(record: CallRecord, state: CallState, connection: _Connection) -> None:
    """The record to log against, in the order an agent would expect; several or none go to review."""
    if record.note_who_id or record.note_what_id:
        record.record_id = record.note_who_id or record.note_what_id
        record.record_type, record.record_source = record_type_of(record.record_id), "note"
        return
    during = ledger.call_pick(record.call_id)
    if during is not None:
        record.record_id, record.record_type, record.record_source = during.record_id, during.record_type, "call_pick"
        return
    decision = _decision(record, state, connection, fresh=record.candidates is None)
    if decision.kind not in ("single", "remembered"):
        # An agent may have created or fixed the record during the call: look again before asking a person.
        decision = _decision(record, state, connection, fresh=True)
    if decision.kind in ("single", "remembered"):
        chosen = decision.record
        record.record_id, record.record_type, record.record_source = chosen.record_id, chosen.record_type, \
            decision.kind
        return
    raise _NeedsReview("several" if decision.kind == "several" else "none",
                       candidates=json.loads(record.candidates or "[]"))


def _decision(record: CallRecord, state: CallState, connection: _Connection, *, fresh: bool):
    if is_withheld(state.external_number):
        record.candidates = "[]"
        return decide([], None)
    if fresh:
        _lookup(record, state, connection)
    candidates = [Candidate(record_id=c["record_id"], record_type=c["record_type"], name=c.get("name") or "")
                  for c in json.loads(record.candidates or "[]")]
    remembered = None
    number = parse_caller(state.external_number, _setting("PANEL_DEFAULT_REGION", "JP"))
    if number is not None and connection.agent.org_id:
        pick = picks.remembered_pick(connection.agent.org_id, number.e164)
        remembered = pick.record_id if pick else None
    return decide(candidates, remembered)


def _write(record: CallRecord, state: CallState, connection: _Connection, settings: LoggingSettings) -> None:
    """Exactly one completed Task: close the call's Task when one exists (or may), else create it."""
    client = connection.client
    language = task_language(_user_language(connection))
    if record.task_id is None and record.task_unsure:
        found = _find_existing(client, record.call_id, settings)
        if found is not None:
            record.task_id = found
        record.task_unsure = False
        db.session.commit()
    who_id, what_id = _relation(record)
    if record.task_id is not None:
        try:
            existing = call_tasks.get_task(client, record.task_id)
        except call_tasks.TaskGone:
            record.task_id, record.task_closed = None, False
            db.session.commit()
        else:
            repoint = bool(who_id or what_id) and (record.record_source == "reviewer"
                                                   or not (existing.who_id or existing.what_id))
            fields = close_task_fields(state, existing_description=existing.description,
                                       existing_subject=existing.subject, locale=language, settings=settings,
                                       owner_id=None, who_id=who_id if repoint else None,
                                       what_id=what_id if repoint else None)
            if record.timed_out:
                fields["Description"] = _with_timeout_note(fields.get("Description", existing.description),
                                                           language)
            call_tasks.update_task(client, record.task_id, fields)
            record.task_closed = True
            return
    notes = _timeout_note(language) if record.timed_out else None
    fields = task_fields(state, who_id=who_id, what_id=what_id, owner_id=connection.owner_id, notes=notes,
                         locale=language, settings=settings)
    record.task_unsure = True  # written ahead: a lost answer makes the next attempt look before creating
    db.session.commit()
    if settings.external_id_field:
        task_id, created = call_tasks.upsert_task(client, settings.external_id_field, record.call_id, fields)
        if not created:
            record.task_id, record.task_unsure = task_id, False
            db.session.commit()
            return _write(record, state, connection, settings)
    else:
        task_id = call_tasks.create_task(client, fields)
    record.task_id, record.task_unsure, record.task_closed = task_id, False, True


def _user_language(connection: _Connection) -> str | None:
    """The Salesforce language of the user the Task is written for (None when PANEL_TASK_LANGUAGE decides).

    The integration path learned it with the owner; the agent's own connection asks once an hour, so an agent's
    Tasks read the same whichever connection wrote them.
    """
    if connection.language or not connection.own or _setting("PANEL_TASK_LANGUAGE"):
        return connection.language
    key = f"panel:calls:language:{connection.agent.org_id}:{connection.agent.user_id}"
    language = cache.get(key)
    if not isinstance(language, str):
        rows = connection.client.query(queries.user_by_id(connection.agent.user_id)).get("records") or []
        language = (rows[0].get("LanguageLocaleKey") if rows else None) or ""
        cache.set(key, language, timeout=OWNER_CACHE_S)
    return language or None


def _find_existing(client, call_id: str, settings: LoggingSettings) -> str | None:
    found = call_tasks.find_by_call_object(client, call_id)
    return found.task_id if found else None


def _relation(record: CallRecord) -> tuple[str | None, str | None]:
    """(WhoId, WhatId): a reviewer's choice, else the agent's note's, else the chosen record's."""
    if record.record_source != "reviewer" and (record.note_who_id or record.note_what_id):
        return record.note_who_id, record.note_what_id
    if not record.record_id:
        return None, None
    return who_and_what(record.record_id)


def _timeout_note(language: str) -> str:
    hours = round(_number("PANEL_CALL_TIMEOUT_S", DEFAULT_CALL_TIMEOUT_S) / 3600, 2)
    return _TIMEOUT_NOTES[language].format(hours=hours)


def _with_timeout_note(description: str | None, language: str) -> str:
    note = _timeout_note(language)
    text = (description or "").rstrip()
    return text if note in text else (f"{text}\n\n{note}" if text else note)


def _retry_or_fail(record: CallRecord, failure: _Retry, now: datetime) -> float | None:
    db.session.rollback()
    record = ledger.find_call(record.call_id)
    record.last_error = failure.message[:2000]
    if not failure.transient:
        return _to_review(record, _NeedsReview("error", error=failure.message), now)
    record.attempts = (record.attempts or 0) + 1
    record.first_failure_at = record.first_failure_at or now
    if now - as_utc(record.first_failure_at) > timedelta(seconds=_number("PANEL_CALL_RETRY_FOR_S",
                                                                          DEFAULT_RETRY_FOR_S)):
        return _to_review(record, _NeedsReview("error", error=f"gave up retrying: {failure.message}"), now)
    delay = failure.delay if failure.delay is not None else backoff_delay(
        record.attempts, base=_number("PANEL_CALL_RETRY_BASE_S", DEFAULT_RETRY_BASE_S) or DEFAULT_RETRY_BASE_S,
        cap=_number("PANEL_CALL_RETRY_CAP_S", DEFAULT_RETRY_CAP_S) or DEFAULT_RETRY_CAP_S)
    record.next_attempt_at = now + timedelta(seconds=delay)
    ledger.touch(record, now)
    db.session.commit()
    log.info("call logging deferred (attempt %s, retry in %.1fs): %s", record.attempts, delay, failure.message)
    return delay


def _to_review(record: CallRecord, needed: _NeedsReview, now: datetime) -> None:
    db.session.rollback()
    record = ledger.find_call(record.call_id)
    record.status = "failed" if needed.reason == "error" else "needs_review"
    record.last_error = needed.error
    record.next_attempt_at = None
    if needed.reason != "error":
        record.candidates = json.dumps(needed.candidates, ensure_ascii=False)
    has_open = db.session.execute(select(ReviewItem.id).where(ReviewItem.call_id == record.call_id,
                                                              ReviewItem.resolved_at.is_(None))).first()
    if not has_open:
        db.session.add(ReviewItem(call_id=record.call_id, reason=needed.reason, error=needed.error,
                                  candidates=json.dumps(needed.candidates, ensure_ascii=False), created_at=now))
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

def _connection(record: CallRecord, *, own_only: bool = False, own_allowed: bool = True) -> _Connection | None:
    """The agent's own connection, else (unless `own_only`) the integration's with the agent as owner.

    None when neither exists: the call waits. A refused agent token is the caller's cue to try again with
    `own_allowed=False`.
    """
    email = (record.agent_email or "").strip().lower()
    own = _agent_connection(email) if own_allowed and email else None
    if own is not None:
        try:
            client = _agent_client(own)
        except UnreadableToken:
            client = None
        if client is not None:
            return _Connection(client=client, owner_id=None, own=True, language=None,
                               agent=lookup.Agent(org_id=own.org_id, user_id=own.user_id, name=own.name))
    if own_only:
        return None
    try:
        client, org_id = _integration_client()
    except SalesforceUnavailable:
        raise
    except SalesforceError as error:
        log.warning("the integration connection is unavailable: %s", error.message)
        return None
    owner = _owner(client, org_id, email)
    return _Connection(client=client, owner_id=owner["Id"], own=False, language=owner.get("LanguageLocaleKey"),
                       agent=lookup.Agent(org_id=org_id, user_id=owner["Id"], name=owner.get("Name")))


def _agent_connection(email: str) -> SalesforceConnection | None:
    """The agent's signed-in connection: the dialer's e-mail matched to the Salesforce e-mail or username."""
    return db.session.execute(
        select(SalesforceConnection)
        .where(or_(func.lower(SalesforceConnection.email) == email, func.lower(SalesforceConnection.username) == email),
               SalesforceConnection.access_token_encrypted.is_not(None))
        .order_by(SalesforceConnection.updated_at.desc())
    ).scalars().first()


def _agent_client(connection: SalesforceConnection) -> SalesforceClient:
    connection_id = connection.id
    return SalesforceClient(connection.instance_url, connection.access_token, refresh_token=connection.refresh_token,
                            oauth=auth.oauth_settings(),
                            on_token_refreshed=lambda token: _store_refreshed_token(connection_id, token))


def _store_refreshed_token(connection_id: int, token: TokenResponse) -> None:
    """Keep the agent's renewed token, through the job's own session.

    A second session would wait on the job's: SQLite lets one transaction write at a time and the job's may
    already hold the lock (its call row is dirty), so the write would time out. Committing the job's pending
    changes with the token is harmless: the job holds the call's lease and every later step re-reads the row.
    """
    connection = db.session.get(SalesforceConnection, connection_id)
    if connection is None:
        return
    connection.access_token = token.access_token
    connection.instance_url = token.instance_url or connection.instance_url
    if token.refresh_token:
        connection.refresh_token = token.refresh_token
    if token.issued_at:
        connection.issued_at = token.issued_at
    db.session.commit()


_INTEGRATION_TOKEN_KEY = "panel:calls:integration-token"


def _integration_client() -> tuple[SalesforceClient, str]:
    """The integration user's client and org id; its token is shared through the cache until it expires."""
    settings = auth.oauth_settings()
    token = cache.get(_INTEGRATION_TOKEN_KEY)
    if not isinstance(token, TokenResponse):
        token = fetch_integration_token(settings)
        cache.set(_INTEGRATION_TOKEN_KEY, token, timeout=OWNER_CACHE_S)

    def remember(fresh: TokenResponse) -> None:
        cache.set(_INTEGRATION_TOKEN_KEY, fresh, timeout=OWNER_CACHE_S)

    client = SalesforceClient(token.instance_url, token.access_token, oauth=settings,
                              renew=lambda: fetch_integration_token(settings), on_token_refreshed=remember)
    parts = (token.identity_url or "").rstrip("/").split("/")
    return client, parts[-2] if len(parts) >= 2 else ""


def _owner(client: SalesforceClient, org_id: str, login: str) -> dict:
    """The agent's Salesforce User (Id, Name, LanguageLocaleKey), remembered for an hour."""
    key = f"panel:calls:owner:{org_id}:{login}"
    owner = cache.get(key)
    if isinstance(owner, dict):
        return owner
    rows = (client.query(queries.call_owner_by_login(login)).get("records") or []) if login else []
    exact = [row for row in rows if (row.get("Email") or "").lower() == login] or rows
    if not exact:
        raise _Retry(f"no active Salesforce user has the e-mail or username {login or '(none)'}; "
                     f"the Task needs an owner", transient=False)
    owner = {"Id": exact[0]["Id"], "Name": exact[0].get("Name"),
             "LanguageLocaleKey": exact[0].get("LanguageLocaleKey")}
    cache.set(key, owner, timeout=OWNER_CACHE_S)
    return owner


# -- workers ------------------------------------------------------------------------------------------------------

class BackgroundConsumer(Consumer):
    """A huey consumer that runs in threads beside a web server or a test, leaving signal handling to its host."""

    def _set_signal_handlers(self) -> None:
        return None


def start_background_worker(app: Flask, workers: int = 2, *, poll_s: float = 0.25) -> BackgroundConsumer:
    """Run jobs in this process (for `make run` and tests); `stop(graceful=True)` the result when done."""
    huey.flask_app = app
    consumer = BackgroundConsumer(huey, workers=workers, worker_type="thread", periodic=True,
                                  initial_delay=min(0.1, poll_s), backoff=1.15, max_delay=poll_s,
                                  scheduler_interval=1, check_worker_health=False)
    consumer.start()
    return consumer
