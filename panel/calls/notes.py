"""An agent's notes on a call: written to the call's one Salesforce Task, during the call or after it.

The tasks feature (panel.tasks.views) calls `add_call_note` when an agent saves a note for a call. The note and the
logging job write the same Task, so both hold the call's lease (panel.calls.ledger) and both follow the exactly-once
mark (`task_unsure`): a note during the call starts the Task, open, under the notes subject
(`logging_rules.notes_subject`); the call's end completes that same Task (panel.calls.pipeline).

What the agent types is split as Salesforce shows it: the subject becomes the Task's subject (kept on the call's
row, `agent_subject`, so the call's end, a later leg or a reviewer's decision writes it again rather than the
panel's own; a later note with another subject renames the Task, one with none leaves it), the notes go to the
description under their time. A Task a note opens without a subject is titled in the Task's language
(`logging_rules.task_language`: the configured one, else the agent's Salesforce language, asked as the logging job
asks it, `pipeline.language_of`), never in the language of the page the agent happens to use.

Only the agent the call's events name writes notes on it (`panel.calls.ledger.may_act_on_call`, asked before
anything changes): a call no event has named yet is refused, and the call's row, when its first job has not made
it yet, is made from what the events say, never from what the browser claims.
"""

from __future__ import annotations

from datetime import datetime

from panel.callers import lookup
from panel.calls import jobs, pipeline
from panel.calls.ledger import PERSON_LEASE_WAIT_S, call_lease, may_act_on_call, touch, utcnow
from panel.calls.logging_rules import (SUBJECT_MAX, LoggingSettings, activity_date, call_subject, fit, notes_subject,
                                       stamped_note)
from panel.calls.state import CallState
from panel.extensions import db
from panel.salesforce import call_tasks

__all__ = ["add_call_note"]


def add_call_note(client, settings: LoggingSettings, *, agent, call_id: str, who_id: str | None,
                  what_id: str | None, text: str = "", subject: str = "", now: datetime | None = None) -> str:
    """Write a note (`text`, and/or the `subject` the agent typed) to the call's one Task and return the Task's Id.

    `agent` is the signed-in connection writing it (`client` acts as that agent). Under the call's lease: a Task
    the ledger knows gets the note appended (timestamped, on the org's clock) and the subject; otherwise the Task is
    looked up by `CallObject` (a write whose outcome was never learned may have made it), and only when there is
    none it is created open (TaskSubtype Call, CallObject = call ID, owned by the agent). When the call has already
    ended, the logging job is asked to close it; when it was already logged, the note simply lands on the logged
    Task (a subject then as the call's end would write it, `call_subject`).

    Raises `ledger.CallRefused` (not this agent's call, or no event has named it yet; nothing was written),
    `SalesforceUnavailable` (retry later), `CallBusy` (the call is being logged right now, retry in a moment) or
    the Salesforce boundary's request errors for a refused write.
    """
    events = may_act_on_call(call_id, agent)
    moment = now or utcnow()
    note = stamped_note(text, moment, settings.timezone) if text.strip() else None
    typed = " ".join(subject.split())
    email = events.agent_email.strip().lower()
    create = {"org_id": agent.org_id, "agent_email": email}
    with call_lease(call_id, ttl_s=settings.lease_ttl_s, wait_s=PERSON_LEASE_WAIT_S, create=create) as record:
        record.org_id = record.org_id or agent.org_id
        record.agent_email = record.agent_email or email
        if who_id or what_id:
            record.note_who_id, record.note_what_id = who_id, what_id
        touch(record, moment)
        db.session.commit()
        state = record.call_state()

        pipeline.recover_unsure_task(record, client)
        written = _typed_subject(client, agent, settings, typed, state) if typed else None
        if record.task_id is not None:
            try:
                call_tasks.append_note(client, record.task_id, note, subject=written)
                if written:  # kept only once Salesforce took it: a refused note leaves the call's subject alone
                    record.agent_subject, record.task_subject = typed, written
                    db.session.commit()
                return record.task_id
            except call_tasks.TaskGone:
                record.task_id, record.task_closed = None, False
                db.session.commit()

        record.task_unsure = True  # written ahead: if the answer is lost, the next writer looks before creating
        db.session.commit()
        task_id = call_tasks.create_open_call_task(
            client, call_id=call_id, who_id=who_id, what_id=what_id, description=note,
            subject=written or notes_subject(_task_language(client, agent, settings)),
            direction=state.direction if state else None,
            activity_date=activity_date(state.started_at if state else moment, settings.timezone),
            statuses=settings.task_statuses, external_id_field=settings.external_id_field)
        record.task_id, record.task_unsure, record.task_closed = task_id, False, False
        record.task_subject = written or record.task_subject
        record.agent_subject = typed or record.agent_subject
        reopen = record.status in ("skipped", "needs_review", "failed") or (
            state is not None and state.end is not None and record.status != "logged")
        if record.status == "skipped":
            record.status = "open"
        db.session.commit()
    if reopen:
        jobs.enqueue_call(call_id)
    return task_id


def _typed_subject(client, agent, settings: LoggingSettings, typed: str, state: CallState | None) -> str:
    """The subject a note with a typed subject writes: as typed while the call goes on (its end fills the template
    in), cut to what Salesforce holds; as the call's end writes it once the call has ended (`call_subject`)."""
    if state is None or state.end is None:
        return fit(typed, SUBJECT_MAX)
    return call_subject(state, _task_language(client, agent, settings), settings, typed)


def _task_language(client, agent, settings: LoggingSettings) -> str:
    """The language of the call's Task ("ja" or "en"), decided as the logging job decides it for this agent."""
    connection = pipeline.Connection(client=client, owner_id=None, own=True, language=None,
                                     agent=lookup.Agent.of(agent))
    return pipeline.language_of(connection, settings)
