"""The review queue: the calls a person must decide on, and the decisions.

A call goes to review when no rule chose its record (several matches or none, panel.calls.choice), Salesforce
refused its Task for good, or its job failed unexpectedly attempt after attempt (panel.calls.pipeline); the rows are
the ledger's `ReviewItem`s. This module reads them for the queue's pages (`open_reviews`, `open_review_counts`,
`resolved_reviews`, `review_item`) and records a reviewer's decision exactly once, claiming the item before
anything is created (`resolve_review`); panel.review.views shows them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Sequence

from sqlalchemy import and_, func, or_, select, update

from panel.calls.ledger import PERSON_LEASE_WAIT_S, CallRecord, ReviewItem, call_lease, find_call, touch, utcnow
from panel.calls.logging_rules import LoggingSettings
from panel.extensions import db

__all__ = ["RESOLUTIONS", "AlreadyResolved", "open_review_counts", "open_reviews", "resolve_review",
           "resolved_reviews", "review_item"]

RESOLUTIONS = ("record", "lead", "dismissed", "retry", "agent_note")


class AlreadyResolved(Exception):
    """Someone else resolved the item first; `item` says who, how and when."""

    def __init__(self, item: ReviewItem | None) -> None:
        super().__init__("this call was already resolved")
        self.item = item


def open_reviews(*, reasons: Sequence[str] = (), after: int | None = None,
                 limit: int | None = None) -> list[tuple[ReviewItem, CallRecord | None]]:
    """Unresolved items, oldest first, each with its call; `reasons` narrows them, `after` (an item id) starts
    past that item.

    Pages continue from an item, not from an offset: items resolved meanwhile would shift an offset and hide
    calls from the next page. The item named by `after` may itself have been resolved since; its place holds.
    """
    query = (select(ReviewItem, CallRecord).outerjoin(CallRecord, CallRecord.call_id == ReviewItem.call_id)
             .where(ReviewItem.resolved_at.is_(None)))
    if reasons:
        query = query.where(ReviewItem.reason.in_(list(reasons)))
    if after is not None:
        start = db.session.get(ReviewItem, after)
        if start is not None:
            query = query.where(or_(ReviewItem.created_at > start.created_at,
                                    and_(ReviewItem.created_at == start.created_at, ReviewItem.id > start.id)))
    query = query.order_by(ReviewItem.created_at.asc(), ReviewItem.id.asc())
    if limit is not None:
        query = query.limit(limit)
    return [(item, call) for item, call in db.session.execute(query).all()]


def open_review_counts() -> dict[str, int]:
    """How many calls wait for a decision, per reason (`several`, `none`, `error`)."""
    rows = db.session.execute(select(ReviewItem.reason, func.count()).where(ReviewItem.resolved_at.is_(None))
                              .group_by(ReviewItem.reason)).all()
    return {reason: count for reason, count in rows}


def resolved_reviews(limit: int = 20) -> list[tuple[ReviewItem, CallRecord | None]]:
    """The audit trail: the latest resolutions, newest first."""
    rows = db.session.execute(
        select(ReviewItem, CallRecord).outerjoin(CallRecord, CallRecord.call_id == ReviewItem.call_id)
        .where(ReviewItem.resolved_at.is_not(None)).order_by(ReviewItem.resolved_at.desc(), ReviewItem.id.desc())
        .limit(limit)
    ).all()
    return [(item, call) for item, call in rows]


def review_item(item_id: int) -> tuple[ReviewItem, CallRecord | None] | None:
    item = db.session.get(ReviewItem, item_id)
    if item is None:
        return None
    return item, find_call(item.call_id)


def resolve_review(item_id: int, settings: LoggingSettings, *, reviewer: str, resolution: str,
                   record_id: str | None = None, record_type: str | None = None,
                   create: Callable[[], tuple[str, str]] | None = None, now: datetime | None = None) -> CallRecord:
    """Record a reviewer's decision on an open item and set the call up for logging (or dismiss it).

    Claim first, then act, however many reviewers click at the same time: under the call's lease (held for
    `settings.lease_ttl_s`) a conditional UPDATE claims the item, and only its winner changes the call or creates
    anything. The others get `AlreadyResolved`; `CallBusy` when the call is being logged right now.

    `create` makes the record a decision needs (the new Lead) and returns its (Id, type). It runs once the claim is
    committed, in no database transaction (SQLite would hold its one write lock while Salesforce answers), and what
    it made is recorded after it. When it raises, the claim is given back, the item waits again and the exception
    propagates: never a half-resolved item. A request that dies in between leaves a claim with no record; the sweep
    gives it back once the call's lease is free (panel.calls.jobs.sweep).

    The caller enqueues the call afterwards (`panel.calls.jobs.enqueue_call`) unless it was dismissed.
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {resolution!r}")
    moment = now or utcnow()
    item = db.session.get(ReviewItem, item_id)
    if item is None:
        raise AlreadyResolved(None)
    call_id = item.call_id
    db.session.rollback()
    with call_lease(call_id, ttl_s=settings.lease_ttl_s, wait_s=PERSON_LEASE_WAIT_S) as record:
        claimed = db.session.execute(
            update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.resolved_at.is_(None))
            .values(resolved_at=moment, resolved_by=reviewer, resolution=resolution, resolved_record_id=record_id)
        ).rowcount
        if claimed != 1 or record.status not in ("needs_review", "failed"):
            db.session.rollback()
            raise AlreadyResolved(db.session.get(ReviewItem, item_id))
        if create is not None:
            db.session.commit()  # the claim stands before Salesforce is asked
            record_id, record_type = _create_for_claim(item_id, reviewer, moment, create)
        if resolution == "dismissed":
            record.status, record.outcome = "skipped", "dismissed"
        else:
            if record_id:
                record.record_id, record.record_type, record.record_source = record_id, record_type, "reviewer"
            record.status = "open"
            record.attempts, record.first_failure_at, record.next_attempt_at = 0, None, None
            record.last_error = None
        touch(record, moment)
        db.session.commit()
        return record


def _claim_of(item_id: int, reviewer: str, moment: datetime):
    """The item while it is this reviewer's claim, made at `moment`, with nothing recorded yet."""
    return update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.resolved_by == reviewer,
                                    ReviewItem.resolved_at == moment, ReviewItem.resolved_record_id.is_(None))


def _create_for_claim(item_id: int, reviewer: str, moment: datetime,
                      create: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """`create()` for a claimed item, and its record noted on the item; the claim given back when it fails."""
    try:
        record_id, record_type = create()
    except BaseException:
        db.session.rollback()
        db.session.execute(_claim_of(item_id, reviewer, moment).values(resolved_at=None, resolved_by=None,
                                                                        resolution=None))
        db.session.commit()
        raise
    noted = db.session.execute(_claim_of(item_id, reviewer, moment).values(resolved_record_id=record_id)).rowcount
    if noted != 1:  # the claim outlived the lease and the sweep gave it back: someone else may decide now
        db.session.rollback()
        raise AlreadyResolved(db.session.get(ReviewItem, item_id))
    return record_id, record_type
