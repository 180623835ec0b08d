"""The call-logging queue: which call a worker looks at next, and the workers that do.

Queue: huey, on a SQLite file in the instance folder by default and on Redis when `REDIS_URL` is set (web nodes
and workers then share it). The queue only says "look at call X now"; what a call needs lives in the database
(`panel.calls.ledger`), so a lost or doubled job costs nothing: every job takes the call's lease, re-reads the call
and does what is left (`panel.calls.pipeline.log_call`). A periodic sweep re-enqueues what a lost job left behind
and closes calls whose end event never came.

The huey task names `panel.process_call` and `panel.sweep_calls` are a contract: jobs already queued by an earlier
version must still run.

Settings: the call-logging settings (`LoggingSettings`) are read from the app's configuration once (`init_app` reads
them at start-up, so a bad subject template stops the start) and kept on the app (`panel.web.app_settings`). The
jobs hand them down to the pipeline with the pop's settings; the views that write to a call get them from
`call_settings`.

Worker: `python -m panel.worker` (production), or the in-process consumer `make run` starts
(`start_background_worker`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import datetime, timedelta

from flask import Flask
from huey import Huey, crontab
from huey.consumer import Consumer
from huey.exceptions import RetryTask
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import and_, or_, select, update

from panel import web
from panel.callers.lookup import PopSettings
from panel.calls import conversations
from panel.calls.ledger import CallRecord, ReviewItem, StoredEvent, utcnow
from panel.calls.logging_rules import LoggingSettings, TemplateError
from panel.calls.filing import is_conversation
from panel.calls.pipeline import log_call
from panel.extensions import db

__all__ = [
    "advance_call",
    "call_settings",
    "enqueue_call",
    "huey",
    "init_app",
    "process_call",
    "start_background_worker",
    "sweep",
]

log = logging.getLogger(__name__)

SWEEP_GRACE_S = 120
# huey's own retries, for a job the pipeline could not even count (its database or cache unreachable).
STORAGE_RETRIES = 5
STORAGE_RETRY_DELAY_S = 2

huey = Huey("panel", results=False, storage_class=MemoryStorage)


# -- set-up ---------------------------------------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Read the call-logging settings, point the queue at the app's storage and let jobs run inside this app.
    Call once from `create_app`."""
    with app.app_context():
        try:
            call_settings()
        except TemplateError as error:
            raise RuntimeError(f"PANEL_TASK_SUBJECT_TEMPLATE: {error}") from None
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


def call_settings() -> LoggingSettings:
    """The current app's call-logging settings, read from its configuration once."""
    return web.app_settings(LoggingSettings.from_config)


def _app() -> Flask:
    """The app jobs run in: the one `init_app` (or `python -m panel.worker`) pointed the queue at."""
    app = getattr(huey, "flask_app", None)
    if app is None:
        raise RuntimeError("the job queue has no app: run the worker with `python -m panel.worker`")
    return app


# -- the jobs ------------------------------------------------------------------------------------------------------

@huey.task(name="panel.process_call", retries=STORAGE_RETRIES, retry_delay=STORAGE_RETRY_DELAY_S)
def process_call(call_id: str) -> None:
    """Bring one call forward; when something is left for later, huey runs it again after the delay.

    Every failure of the call's own (Salesforce's, a bug's, an unreadable event's) is handled and counted inside
    `log_call`, which answers with the delay before the next try or sends the call to review. The retries here
    are for a job that could not even record its failure (the database or the cache unreachable, a database busy
    under SQLite's one-writer rule): a few quick tries, then the sweep picks the call up again.
    """
    huey.delete(_queued_key(call_id))  # before reading the call's events: one stored after this queues a new job
    with _app().app_context():
        delay = advance_call(call_id)
    if delay is not None:
        raise RetryTask(delay=max(delay, 0.0))


@huey.periodic_task(crontab(minute="*"), name="panel.sweep_calls")
def sweep_calls() -> None:
    with _app().app_context():
        sweep(call_settings())


def advance_call(call_id: str, now: datetime | None = None) -> float | None:
    """One run of the pipeline for the call, with the current app's settings (what `process_call` runs); the
    seconds until the call wants another run, or None."""
    if is_conversation(call_id):  # a day of text messages with one number (panel.calls.conversations)
        return conversations.log_conversation(call_id, call_settings(), web.app_settings(PopSettings.from_config),
                                              now=now)
    return log_call(call_id, call_settings(), web.app_settings(PopSettings.from_config), now=now)


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


def sweep(settings: LoggingSettings, now: datetime | None = None) -> list[str]:
    """Re-enqueue every call a lost job left behind and every call overdue for its timeout; their call IDs. Give
    back the review items a reviewer's lost request left claimed."""
    now = now or utcnow()
    _give_back_abandoned_claims(now)
    grace = now - timedelta(seconds=SWEEP_GRACE_S)
    timeout = now - timedelta(seconds=settings.call_timeout_s)
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


def _give_back_abandoned_claims(now: datetime) -> None:
    """A "create a Lead" decision claims its item, then asks Salesforce for the Lead, then notes the Lead on the
    item, all under the call's lease (panel.review.queue.resolve_review). A claim with no Lead noted on a call
    whose lease is free was left by a request that died in between: the item waits for a reviewer again."""
    leased = select(CallRecord.call_id).where(CallRecord.lease_until.is_not(None),
                                              CallRecord.lease_until >= now.timestamp())
    db.session.execute(update(ReviewItem).where(
        ReviewItem.resolution == "lead", ReviewItem.resolved_at.is_not(None), ReviewItem.resolved_record_id.is_(None),
        ReviewItem.call_id.not_in(leased)).values(resolved_at=None, resolved_by=None, resolution=None))
    db.session.commit()


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
