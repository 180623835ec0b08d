"""The job for a text conversation: its messages of one day with one number, logged as one Salesforce Task.

A conversation (`sms:<agent>:<E.164>:<local day>`, panel.calls.filing) is a row of the call ledger like a call,
and its job (`log_conversation`, dispatched by `panel.calls.jobs.advance_call`) runs under the same lease
(panel.calls.ledger.call_lease):

1. Fold the conversation's stored message events (panel.calls.messages.fold: each message once, in time order).
2. Choose the record as for a call (panel.calls.choice through the pipeline: remembered pick, single match, else
   the review queue, where a reviewer's pick, a new Lead, a retry or a dismissal decide as they do for a call).
3. No Task yet: create one completed Task holding every message (`messages.task_fields`), marked `task_unsure`
   first so that a lost answer is found again by `CallObject` (the conversation id) instead of creating a second.
4. A Task already: each message not yet on it is added (`messages.plan_description`), read then written, and the
   ids of the messages the Task holds are kept on the row. A logged conversation that gets a new message is
   `open` again until the message is on its Task, so the sweep finds it if its job is lost.

What the row keeps: `calls.state` holds `{"conversation": true, "messages": <count>, "written": [event ids on the
Task], "pending": [event ids of a write whose answer may have been lost]}`; no migration is needed. The written
ids are committed after Salesforce answered; the pending ones before asking, so a write whose answer never came
is recognised in the Task's description on the next run (never written twice). The row's `started_at`/`ended_at`
are the first and last message (the sweep finds a conversation left open as it finds a call), `direction` stays
empty: a conversation goes both ways.

A conversation is not a call to take notes on: it is left out of the agent's recent calls and refused as the call
of a pick or a note (panel.calls.ledger). Logs never name the conversation id (it holds the number).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from panel.callers import lookup
from panel.calls import ledger, messages, pipeline
from panel.calls.ledger import CallRecord, as_utc, utcnow
from panel.calls.logging_rules import LoggingSettings
from panel.calls.retry import is_transient
from panel.extensions import db
from panel.salesforce import call_tasks
from panel.salesforce.errors import ReconnectRequired, SalesforceRequestError, SalesforceUnavailable
from panel.salesforce.tasks import TaskRejected

__all__ = ["log_conversation"]

log = logging.getLogger(__name__)


def log_conversation(conversation_id: str, settings: LoggingSettings, pop_settings: lookup.PopSettings,
                     now: datetime | None = None) -> float | None:
    """Do what is left for the conversation. Returns seconds until it should run again, or None."""
    now = now or utcnow()
    session = db.session()
    try:
        with ledger.call_lease(conversation_id, ttl_s=settings.lease_ttl_s, wait_s=pipeline.BUSY_WAIT_S) as record:
            session.expire_on_commit = False  # as in the pipeline: the lease holder's row is what it last wrote
            try:
                return _advance(record, settings, pop_settings, now)
            except pipeline.OWN_STORAGE_FAILURES:
                raise
            except Exception as error:  # counted, retried, at last the review queue: it cannot stall
                log.exception("logging text conversation (row %s) failed unexpectedly", record.id)
                return pipeline.failed_unexpectedly(conversation_id, error, settings, now)
    except ledger.CallBusy:
        return pipeline.BUSY_RETRY_S
    finally:
        session.expire_on_commit = True


def _advance(record: CallRecord, settings: LoggingSettings, pop_settings: lookup.PopSettings,
             now: datetime) -> float | None:
    events = ledger.events_of(record.call_id)
    conversation = messages.fold(stored.event() for stored in events)
    if conversation is None:
        db.session.commit()
        return None
    _take_facts(record, conversation)
    fresh = [stored.id for stored in events if not stored.processed]
    if fresh:
        db.session.execute(pipeline.MARK_PROCESSED, {"ids": fresh})
        ledger.touch(record, now)
    db.session.commit()

    if record.status in ("skipped", "needs_review", "failed"):  # dismissed, or waiting for a reviewer
        return None
    if record.status == "logged":
        if conversation.ids <= _progress(record)["written"]:
            return None
        record.status = "open"  # new messages: open until they are on the Task (the sweep finds it meanwhile)
        db.session.commit()
    if record.next_attempt_at is not None and as_utc(record.next_attempt_at) > now:
        return (as_utc(record.next_attempt_at) - now).total_seconds()
    return _log(record, conversation, settings, pop_settings, now)


def _log(record: CallRecord, conversation: messages.Conversation, settings: LoggingSettings,
         pop_settings: lookup.PopSettings, now: datetime, *, own_allowed: bool = True) -> float | None:
    """Choose the record and write the Task, with the pipeline's retries and review queue."""
    connection = None
    try:
        connection = pipeline.connection_for(record, conversation, own_allowed=own_allowed)
        if connection is None:
            raise pipeline.Retry("waiting for a Salesforce connection (the agent's or the integration's)",
                                 delay=pipeline.NO_CONNECTION_RETRY_S)
        if record.record_id is None and record.task_id is None:
            pipeline.choose_for(record, conversation, connection, pop_settings)
        _write(record, conversation, connection, settings, pop_settings.region)
    except pipeline.NeedsReview as needed:
        return pipeline.to_review(record, needed, now)
    except pipeline.Retry as failure:
        return pipeline.retry_or_fail(record, failure, settings, now)
    except TaskRejected as rejected:
        return pipeline.to_review(record, pipeline.NeedsReview("error", error=str(rejected)), now)
    except ReconnectRequired as error:
        if connection is not None and connection.own:  # the agent's grant is gone: the integration takes over
            db.session.rollback()
            return _log(ledger.find_call(record.call_id), conversation, settings, pop_settings, now,
                        own_allowed=False)
        return pipeline.retry_or_fail(record, pipeline.Retry(f"the Salesforce connection was refused: "
                                                             f"{error.message}"), settings, now)
    except SalesforceUnavailable as error:
        return pipeline.retry_or_fail(record, pipeline.Retry(error.message or "Salesforce is unreachable"),
                                      settings, now)
    except SalesforceRequestError as error:
        return pipeline.retry_or_fail(record, pipeline.Retry(
            error.message, transient=is_transient(error.error_code or "")), settings, now)
    except ValueError as error:
        return pipeline.to_review(record, pipeline.NeedsReview("error", error=str(error)), now)
    record.status, record.outcome, record.logged_at = "logged", "messages", now
    record.attempts, record.first_failure_at, record.next_attempt_at, record.last_error = 0, None, None, None
    ledger.touch(record, now)
    db.session.commit()
    return None


def _write(record: CallRecord, conversation: messages.Conversation, connection: pipeline.Connection,
           settings: LoggingSettings, region: str) -> None:
    """The conversation's one Task: every message not on it yet added once, or the Task created with them all."""
    client = connection.client
    language = pipeline.language_of(connection, settings)
    pipeline.recover_unsure_task(record, client)
    if record.task_id is not None:
        try:
            existing = call_tasks.get_task(client, record.task_id)
        except call_tasks.TaskGone:  # deleted in Salesforce: a new Task gets every message again
            record.task_id, record.task_closed = None, False
            _keep_progress(record, written=frozenset(), pending=frozenset())
            db.session.commit()
        else:
            progress = _progress(record)
            plan = messages.plan_description(existing.description, conversation, written=progress["written"],
                                             pending=progress["pending"], tz_name=settings.timezone,
                                             locale=language)
            if plan.text is not None:
                _keep_progress(record, written=plan.confirmed, pending=plan.adding)  # written ahead
                db.session.commit()
                call_tasks.update_task(client, record.task_id, {"Description": plan.text},
                                       statuses=settings.task_statuses)
            _keep_progress(record, written=plan.written, pending=frozenset())
            return
    who_id, what_id = pipeline.relation_of(record)
    fields = messages.task_fields(conversation, who_id=who_id, what_id=what_id, owner_id=connection.owner_id,
                                  locale=language, tz_name=settings.timezone, region=region,
                                  external_id_field=settings.external_id_field)
    record.task_unsure = True  # written ahead: a lost answer makes the next attempt look before creating
    _keep_progress(record, written=frozenset(), pending=conversation.ids)
    db.session.commit()
    if settings.external_id_field:
        task_id, created = call_tasks.upsert_task(client, settings.external_id_field, record.call_id, fields,
                                                  statuses=settings.task_statuses)
        if not created:  # it exists: add what it lacks
            record.task_id, record.task_unsure = task_id, False
            db.session.commit()
            return _write(record, conversation, connection, settings, region)
    else:
        task_id = call_tasks.create_task(client, fields, statuses=settings.task_statuses)
    record.task_id, record.task_unsure, record.task_closed = task_id, False, True
    _keep_progress(record, written=conversation.ids, pending=frozenset())


# -- the row ---------------------------------------------------------------------------------------------------------

def _take_facts(record: CallRecord, conversation: messages.Conversation) -> None:
    record.agent_email = (conversation.agent_email or "").strip().lower()
    record.external_number = conversation.external_number
    record.direction = None
    record.started_at = conversation.started_at
    record.ended_at = conversation.ended_at
    progress = _progress(record)
    record.state = _state_json(len(conversation.messages), progress["written"], progress["pending"])


def _progress(record: CallRecord) -> dict[str, Any]:
    """The message ids the Task holds (`written`) and those of a write whose answer may be lost (`pending`)."""
    try:
        data = json.loads(record.state) if record.state else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return {"messages": data.get("messages") or 0,
            "written": frozenset(str(i) for i in data.get("written") or ()),
            "pending": frozenset(str(i) for i in data.get("pending") or ())}


def _keep_progress(record: CallRecord, *, written: frozenset[str], pending: frozenset[str]) -> None:
    record.state = _state_json(_progress(record)["messages"], written, pending)


def _state_json(count: int, written: frozenset[str], pending: frozenset[str]) -> str:
    return json.dumps({"conversation": True, "messages": count, "written": sorted(written),
                       "pending": sorted(pending)}, ensure_ascii=False)
