"""Where an ended call went, as the panel shows it after hang-up: logged, waiting for a reviewer, waiting for
Salesforce, not logged, or still being logged.

The call's row in the ledger (panel.calls.ledger) is the truth: the logging job writes it wherever it runs (the web
node, or a worker on another machine in the scale-out configuration), so every web node reads the same answer and
the panel needs nothing but a small fragment it polls (`GET /panel/calls/<call_id>/status`, panel.pop.views) until
the call is final. One indexed read of the row and, while the call waits for a reviewer, one of its review item.

`poll_after_s` says when the panel asks again: every second for the first few seconds after hang-up (the job
usually logs the call within one), then every two while the job is at work, just after the job's next attempt while
it retries Salesforce (every 2 to 30 s, following its backoff), rarely while a reviewer decides (that takes minutes
to days, yet the panel should follow it while it is still on screen), never once the call is final (logged or not
logged). A call the dialer never reported stops being asked after `UNREPORTED_POLLS` (about two minutes); one whose
end the dialer has not reported by then says so and is asked about every `REVIEW_POLL_S`; a panel left open stops
after `MAX_POLLS`, showing what it last knew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from panel.calls.ledger import CallRecord, ReviewItem, as_utc, find_call, utcnow
from panel.extensions import db

__all__ = ["CallOutcome", "FIRST_POLL_S", "FIRST_POLLS", "MAX_POLLS", "POLL_S", "RETRY_POLL_MAX_S", "REVIEW_POLL_S",
           "UNREPORTED_POLLS", "call_outcome"]

FIRST_POLL_S = 1       # the first seconds after hang-up, when the job usually finishes: shown within a second
FIRST_POLLS = 4
POLL_S = 2             # then, while the job logs the call, or retries Salesforce
REVIEW_POLL_S = 30     # while the call waits for a reviewer
UNREPORTED_POLLS = 62  # the dialer's events never came: stop asking after about two minutes
RETRY_POLL_MAX_S = 30  # while retrying: just after the job's next attempt, at most this long apart
MAX_POLLS = 240        # a panel left open stops asking after this many (an hour or more)
# The kinds `kind` takes; the template words each.
KINDS = ("pending", "logged", "review", "retrying", "not_logged", "unreported", "awaiting_end")


@dataclass(frozen=True)
class CallOutcome:
    """What the panel says about one ended call. `reason` narrows the kind: the review's reason (`several`,
    `none`, `error`, `agent`), or why a call was not logged (the row's `outcome`: `missed`, `internal`,
    `dismissed`, ...)."""

    call_id: str
    kind: str
    reason: str | None = None
    task_id: str | None = None
    record_id: str | None = None
    since: datetime | None = None  # retrying: the first failure; review: when it went there
    poll_after_s: int | None = None

    @property
    def final(self) -> bool:
        return self.poll_after_s is None


def call_outcome(call_id: str, polls: int = 0, now: datetime | None = None) -> CallOutcome:
    """The call's outcome as its row says it now; `polls` is how often the panel has asked already."""
    found = _outcome(call_id, polls, now or utcnow())
    return replace(found, poll_after_s=None) if polls >= MAX_POLLS else found


def _outcome(call_id: str, polls: int, now: datetime) -> CallOutcome:
    record = find_call(call_id)
    soon = FIRST_POLL_S if polls < FIRST_POLLS else POLL_S
    if record is None or record.state is None:
        if polls >= UNREPORTED_POLLS:
            return CallOutcome(call_id, "unreported")
        return CallOutcome(call_id, "pending", poll_after_s=soon)
    if record.status == "logged":
        return CallOutcome(call_id, "logged", task_id=record.task_id, record_id=record.record_id)
    if record.status == "skipped":
        return CallOutcome(call_id, "not_logged", reason=record.outcome)
    if record.status in ("needs_review", "failed"):
        return _waiting_for_review(record)
    if record.first_failure_at is not None:
        return CallOutcome(call_id, "retrying", since=as_utc(record.first_failure_at),
                           poll_after_s=_after_next_attempt(record, now))
    if record.ended_at is None and polls >= UNREPORTED_POLLS:
        # The page saw the call end, the dialer's server has not said so (yet): logged when it does, or when the
        # call times out (PANEL_CALL_TIMEOUT_S). Asked about now and then, as a call waiting for a reviewer.
        return CallOutcome(call_id, "awaiting_end", poll_after_s=REVIEW_POLL_S)
    return CallOutcome(call_id, "pending", poll_after_s=soon)


def _after_next_attempt(record: CallRecord, now: datetime) -> int:
    """Seconds until just after the job's next attempt (nothing changes before it), between POLL_S and
    RETRY_POLL_MAX_S."""
    if record.next_attempt_at is None:
        return POLL_S
    wait = math.ceil((as_utc(record.next_attempt_at) - now).total_seconds()) + 1
    return max(POLL_S, min(RETRY_POLL_MAX_S, wait))


def _waiting_for_review(record: CallRecord) -> CallOutcome:
    item = db.session.execute(
        select(ReviewItem).where(ReviewItem.call_id == record.call_id, ReviewItem.resolved_at.is_(None))
        .order_by(ReviewItem.id.desc()).limit(1)).scalars().first()
    reason = item.reason if item is not None else ("error" if record.status == "failed" else None)
    return CallOutcome(record.call_id, "review", reason=reason, since=as_utc(item.created_at) if item else None,
                       poll_after_s=REVIEW_POLL_S)
