"""The call ledger: every call event we accepted, one record per call, and the per-call lease.

The database, not the job queue, is the source of truth, so nothing is lost when a worker dies, Redis restarts
or a job is enqueued twice:

- `StoredEvent` holds each accepted webhook event once (`event_id` is unique: a second identical post, however
  concurrent, fails on the constraint and is answered "duplicate").
- `CallRecord` is one row per call ID: the folded state of its events, the record the call was logged against,
  the Salesforce Task it produced and where the logging stands (`open`, `logged`, `skipped`, `needs_review`,
  `failed`). A job runs `panel.calls.pipeline.log_call` for the call; a sweep finds rows a lost job left behind.
- The per-call lock is a lease on the call's row (`lease_owner`, `lease_until`), taken with one conditional
  UPDATE, so it works the same on SQLite and PostgreSQL and across processes and machines. Whoever writes the
  call's Task to Salesforce (the logging job, an agent's note during the call, a reviewer) holds it; a holder that
  dies loses it when the lease runs out (`LoggingSettings.lease_ttl_s`).
- `ReviewItem` keeps the calls a person must decide on (several matches, none, a permanent error) and who
  resolved each, how and when. Reading and resolving them: `panel.review.queue`.

Exactly once: before a Task is created the record is marked `task_unsure` and committed; the new Task's Id
replaces the mark. Anyone who later finds the mark (a timeout hid the answer, a worker died) looks the Task up by
`CallObject` before writing again.

Who may tie something to a call from the browser (a pick, a note, a new record): only the agent the call's events
name (`may_act_on_call`: the agent of any leg of a transferred call); the browser's call id is a hint, the events
are the truth.

Elsewhere: the pick made during a call (`panel.callers.picks.CallPick`), an agent's notes on the call's Task
(`panel.calls.notes`). The tasks feature reads `recent_calls`.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from sqlalchemy import Boolean, DateTime, Float, Integer, String, Text, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from panel.calls.events import CallEvent, stored_event_from_dict
from panel.calls.filing import CONVERSATION_PREFIX, is_conversation
from panel.calls.state import CallState, fold
from panel.extensions import autocommit, db, read_one
from panel.salesforce.errors import SalesforceUnavailable
from panel.salesforce.ids import record_key
from panel.signin import connections

__all__ = [
    "CallBusy",
    "CallNotKnown",
    "CallRecord",
    "CallRefused",
    "NotYourCall",
    "RecentCall",
    "ReviewItem",
    "StoredEvent",
    "as_utc",
    "call_lease",
    "events_of",
    "find_call",
    "may_act_on_call",
    "recent_calls",
    "store_event",
    "touch",
    "utcnow",
]

STATUSES = ("open", "logged", "skipped", "needs_review", "failed")
REVIEW_REASONS = ("several", "none", "error")
# How long a person's write (an agent's note, a reviewer's decision) waits for the call's lease before giving up.
PERSON_LEASE_WAIT_S = 10.0
_ID_LENGTH = 255


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """An aware UTC datetime; SQLite hands back naive values even for timezone-aware columns."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class CallBusy(SalesforceUnavailable):
    """Another writer holds the call's lease for longer than a person should wait; try again in a moment."""


class StoredEvent(db.Model):
    """One accepted webhook event, exactly as validated (`payload` is `CallEvent.as_json()`)."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(_ID_LENGTH), unique=True)
    call_id: Mapped[str] = mapped_column(String(_ID_LENGTH), index=True)
    type: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # The agent as the dialer named them, kept only when nobody resolved it (the doctor lists these identities).
    agent_ref: Mapped[str | None] = mapped_column(String(255))

    def event(self) -> CallEvent:
        return stored_event_from_dict(json.loads(self.payload))


class CallRecord(db.Model):
    """Where one call stands. `state` is the reducer's `CallState` as JSON (None until an event arrived)."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(_ID_LENGTH), unique=True)
    org_id: Mapped[str | None] = mapped_column(String(18))
    agent_email: Mapped[str | None] = mapped_column(String(254), index=True)
    direction: Mapped[str | None] = mapped_column(String(8))
    external_number: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))  # why: answered, voicemail, internal, dismissed, ...
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    warmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The record the call is logged against, and how it was chosen (call_pick, note, remembered, single, reviewer).
    record_id: Mapped[str | None] = mapped_column(String(18))
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_source: Mapped[str | None] = mapped_column(String(16))
    candidates: Mapped[str | None] = mapped_column(Text)  # JSON: the verified matches seen for the number
    note_who_id: Mapped[str | None] = mapped_column(String(18))
    note_what_id: Mapped[str | None] = mapped_column(String(18))
    task_id: Mapped[str | None] = mapped_column(String(18))
    task_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    task_unsure: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)  # epoch seconds: compares the same in every database
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    logged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # JSON list of the keys of the facts (recordings, transcripts, summaries: `state.Fact.key`) the call's Task
    # holds, so a fact delivered again, or after the call was logged, is written once.
    facts_written: Mapped[str | None] = mapped_column(Text)
    # The subject the panel last wrote to the Task: a Task still carrying it was renamed by nobody, so a corrected
    # call (a later leg, the real end after a timeout) may replace it.
    task_subject: Mapped[str | None] = mapped_column(String(255))
    # The subject the agent typed on the panel's task form for this call (their latest), so every write of the
    # call's Task, whenever it happens, makes it the Task's subject (`logging_rules.call_subject`).
    agent_subject: Mapped[str | None] = mapped_column(String(255))

    def agent_identity(self) -> str | None:
        """The agent as the dialer named them (`zoom:user:…`) when nobody resolved them, else None."""
        try:
            state = self.call_state()
        except (ValueError, KeyError, TypeError):
            return None
        return state.agent_ref if state is not None and not state.agent_email else None

    def written_facts(self) -> set[str]:
        return set(json.loads(self.facts_written)) if self.facts_written else set()

    def call_state(self) -> CallState | None:
        return CallState.from_json(json.loads(self.state)) if self.state else None


class ReviewItem(db.Model):
    """A call a person must decide on, and (once resolved) who decided what, and when."""

    __tablename__ = "call_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(_ID_LENGTH), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # several, none, error, agent (nobody the agent resolves to)
    error: Mapped[str | None] = mapped_column(Text)
    candidates: Mapped[str | None] = mapped_column(Text)  # JSON list of {record_id, record_type, name, company}
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    resolution: Mapped[str | None] = mapped_column(String(16))  # record, lead, dismissed, retry, agent_note
    resolved_record_id: Mapped[str | None] = mapped_column(String(18))

    def candidate_list(self) -> list[dict[str, Any]]:
        return json.loads(self.candidates) if self.candidates else []


# -- events ---------------------------------------------------------------------------------------------------------

# Built once: a plain table INSERT (not the ORM entity's bulk-insert path) whose compiled form SQLAlchemy caches;
# inline: no RETURNING of the new row's id, which nothing reads.
_INSERT_EVENT = insert(StoredEvent.__table__).inline()


def store_event(event: CallEvent, now: datetime | None = None) -> bool:
    """Commit `event`; False when an event with its `event_id` is already stored (also under a concurrent race).

    One INSERT that commits itself (an autocommit connection, not the request's session): the webhook never reads
    the row back and writes nothing else, so the statement is the whole transaction. That spares the ORM's unit of
    work and the separate BEGIN and COMMIT round trips, the largest part of a webhook's cost (docs/operations.md).
    When it returns, the event is committed: the 202 is a durable acknowledgement. The unique `event_id` still
    decides duplicates."""
    values = dict(event_id=event.event_id, call_id=event.call_id, type=event.type,
                  payload=json.dumps(event.as_json(), ensure_ascii=False), received_at=now or utcnow(),
                  processed=False, agent_ref=None if event.agent_email else event.agent_ref)
    try:
        autocommit(_INSERT_EVENT, values)
    except IntegrityError:
        return False
    return True


# The statements a call job runs every time are built once, with bound values: building a statement and its cache
# key anew is a large part of a job's CPU.
_EVENTS_OF_CALL = select(StoredEvent).where(StoredEvent.call_id == bindparam("call_id"))


def events_of(call_id: str) -> list[StoredEvent]:
    return list(db.session.execute(_EVENTS_OF_CALL, {"call_id": call_id}).scalars())


# -- the per-call record and its lease ------------------------------------------------------------------------------

_CALL_BY_ID = select(CallRecord).where(CallRecord.call_id == bindparam("call_id"))


def find_call(call_id: str) -> CallRecord | None:
    return db.session.execute(_CALL_BY_ID, {"call_id": call_id}).scalar_one_or_none()


# Taking and giving back the lease are single conditional UPDATEs of the table, each its own transaction on an
# autocommit connection: one round trip instead of BEGIN, UPDATE, COMMIT, and no ORM bookkeeping. (They run for
# every call event a worker takes.)
_CALLS = CallRecord.__table__.c


_TAKE_LEASE = update(CallRecord.__table__).where(
    _CALLS.call_id == bindparam("call"),
    or_(_CALLS.lease_until.is_(None), _CALLS.lease_until < bindparam("now"))).values(
    lease_owner=bindparam("owner"), lease_until=bindparam("until"))
_GIVE_BACK_LEASE = update(CallRecord.__table__).where(
    _CALLS.call_id == bindparam("call"), _CALLS.lease_owner == bindparam("holder")).values(
    lease_owner=None, lease_until=None)


def _try_lease(call_id: str, owner: str, ttl_s: float) -> bool:
    # End the session's transaction first (committing, as the lease always has): what it read before the lease
    # may be out of date, and under SQLite an open read would keep seeing it.
    db.session.commit()
    now = time.time()
    return autocommit(_TAKE_LEASE, {"call": call_id, "now": now, "owner": owner, "until": now + ttl_s}) == 1


def _make_leased(call_id: str, owner: str, ttl_s: float, values: dict[str, Any]) -> bool:
    """Make the call's row (`values` fill it) holding the lease; False when the call already has a row."""
    moment = utcnow()
    row = dict(call_id=call_id, status="open", created_at=moment, updated_at=moment, lease_owner=owner,
               lease_until=time.time() + ttl_s, **values)
    statement = _insert_leased(db.engine.dialect.name, tuple(sorted(row)))
    return read_one(statement, {f"new_{name}": value for name, value in row.items()}) is not None


@functools.lru_cache(maxsize=32)
def _insert_leased(dialect_name: str, columns: tuple[str, ...]):
    """The INSERT of a new call row, built once per set of columns: one that does nothing when the call has a row
    already, and says so by RETURNING nothing (the driver's row count is not reliable here: psycopg says -1)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(CallRecord.__table__).values({name: bindparam(f"new_{name}") for name in columns}) \
        .on_conflict_do_nothing(index_elements=["call_id"]).returning(_CALLS.id)


def _release(call_id: str, owner: str) -> None:
    db.session.rollback()
    autocommit(_GIVE_BACK_LEASE, {"call": call_id, "holder": owner})


@contextmanager
def call_lease(call_id: str, *, ttl_s: float, wait_s: float = 0.0,
               create: dict[str, Any] | None = None) -> Iterator[CallRecord]:
    """Hold the call's lease while the block runs; yields the call's row (created from `create` if missing).

    `ttl_s` is how long the lease outlives a holder that died (`LoggingSettings.lease_ttl_s`). Raises `CallBusy`
    when another holder keeps it longer than `wait_s`. The block commits its own changes; the lease is released
    (and anything uncommitted rolled back) however the block ends.
    """
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    delay = 0.02
    # The lease is asked for first: the call's row exists for every event but its first. When there is no row to
    # lease, it is made with the lease already in it (one INSERT that does nothing if the row appeared meanwhile).
    tried_making = False
    while not _try_lease(call_id, owner, ttl_s):
        if not tried_making:
            tried_making = True
            if _make_leased(call_id, owner, ttl_s, create or {}):
                break
            continue  # made meanwhile by another holder: ask for the lease again at once
        if time.monotonic() >= deadline:
            raise CallBusy(f"call {call_id} is being updated by another worker")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    try:
        record = find_call(call_id)  # read after the lease's commit expired every loaded row: current values
        yield record
    finally:
        _release(call_id, owner)


def touch(record: CallRecord, now: datetime | None = None) -> None:
    record.updated_at = now or utcnow()


# -- who may act on a call ---------------------------------------------------------------------------------------------

class CallRefused(Exception):
    """Nothing may be tied to this call from this browser; `status` is the HTTP answer, `reason` what the page
    names (`data-refused`)."""

    status = 403
    reason = "refused"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"call {call_id} cannot be acted on by this agent ({self.reason})")
        self.call_id = call_id


class NotYourCall(CallRefused):
    """The call's events name another agent (a reviewer acts on calls only through the review queue)."""

    reason = "not_yours"


class CallNotKnown(CallRefused):
    """No event of the call has arrived: a call id from the browser alone claims nothing (the dialer reports calls
    before the panel can act on them; the agent waits a moment and tries again)."""

    status = 409
    reason = "not_known"


def may_act_on_call(call_id: str, connection) -> CallState:
    """The call's state, folded from its stored events, when those events name the agent signed in on `connection`
    (a request's `SignedInConnection`); raises `CallNotKnown` or `NotYourCall` otherwise, before anything changed.

    Every entry point that ties something to a call from the browser asks this first: the pick during a call, a
    record created during it, a note on its Task. The events, not the call's row, are the truth: they are stored
    when the webhook answers, while the row waits for the call's first job. The call's agent is the one whose
    connection the call's Task is written with (`signin.connections.agent_connection`, the same e-mail-or-username
    match, case-insensitive, the logging job uses): so nobody else's pick, note or record can end up in it.
    One indexed read of the call's events and one of the connection.
    """
    if is_conversation(call_id):  # a day of text messages (panel.calls.conversations) is no call to act on
        raise CallRefused(call_id)
    state = fold(stored.event() for stored in events_of(call_id))
    if state is None:
        raise CallNotKnown(call_id)
    for email in sorted(state.agent_emails):  # a transferred call: the agent of any of its legs
        agent = connections.agent_connection(email)
        if agent is not None and (agent.org_id, agent.user_id) == (connection.org_id, connection.user_id):
            return state
    raise NotYourCall(call_id)


# -- the tasks feature's list of calls -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecentCall:
    """One of an agent's calls, for "which call does this note belong to"."""

    call_id: str
    direction: str | None
    started_at: datetime | None
    ended_at: datetime | None
    status: str
    record_id: str | None
    task_id: str | None


def recent_calls(agent_email: str | None, record_id: str | None = None, limit: int = 5) -> list[RecentCall]:
    """The agent's most recent calls, newest first; with `record_id`, only calls logged against that record."""
    if not agent_email:
        return []
    query = select(CallRecord).where(CallRecord.agent_email == agent_email.strip().lower(),
                                     CallRecord.started_at.is_not(None),
                                     CallRecord.call_id.not_like(f"{CONVERSATION_PREFIX}%"))  # texts: no call
    if record_id:
        prefix = record_key(record_id)
        query = query.where(or_(CallRecord.record_id.startswith(prefix), CallRecord.note_who_id.startswith(prefix),
                                CallRecord.note_what_id.startswith(prefix)))
    rows = db.session.execute(query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
                              .limit(max(0, int(limit)))).scalars()
    return [RecentCall(call_id=row.call_id, direction=row.direction, started_at=as_utc(row.started_at),
                       ended_at=as_utc(row.ended_at), status=row.status, record_id=row.record_id,
                       task_id=row.task_id) for row in rows]

