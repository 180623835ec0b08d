"""Which record an agent picked: for a phone number, remembered for the whole org, and for the call it was made in.

When a number matches several records (a company's main line, a couple sharing a landline) someone has to say who
is calling. That answer is kept per org and E.164 number (`RememberedPick`), with who gave it and when, so the next
call from the number opens the picked record directly — as long as the record still has the number
(panel.callers.matching.decide). Picking again replaces the answer; forgetting it brings the pick list back.

A pick made during a call is also kept for that call (`CallPick`): the call is logged against it
(panel.calls.choice), even when the number's pick has been replaced by then or the record lacks the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import DateTime, String, UniqueConstraint, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from panel.extensions import db, read_one

__all__ = ["CallPick", "PickedRecord", "RememberedPick", "call_pick", "forget_pick", "pick_for_pop",
           "remember_call_pick", "remember_pick", "remembered_pick"]


class RememberedPick(db.Model):
    __tablename__ = "remembered_picks"
    __table_args__ = (UniqueConstraint("org_id", "e164", name="uq_remembered_picks_org_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[str] = mapped_column(String(18))
    e164: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(18))
    record_type: Mapped[str] = mapped_column(String(40))
    picked_by_user_id: Mapped[str] = mapped_column(String(18))
    picked_by_name: Mapped[str | None] = mapped_column(String(121))
    picked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    call_id: Mapped[str | None] = mapped_column(String(255))

    def as_picked(self) -> "PickedRecord":
        return PickedRecord.of(self.record_id, self.record_type, self.picked_by_name, self.picked_at)


# Both lookups are built once (bound values instead of literals), so each read skips rebuilding the statement and
# its cache key: a screen pop reads the number's pick on every request, cached or not.
_PICK_OF_NUMBER = select(RememberedPick).where(RememberedPick.org_id == bindparam("org_id"),
                                               RememberedPick.e164 == bindparam("e164"))
_TABLE = RememberedPick.__table__
_PICK_FOR_POP = select(_TABLE.c.record_id, _TABLE.c.record_type, _TABLE.c.picked_by_name, _TABLE.c.picked_at).where(
    _TABLE.c.org_id == bindparam("org_id"), _TABLE.c.e164 == bindparam("e164"))


@dataclass(frozen=True)
class PickedRecord:
    """A number's pick as the screen pop shows and decides with it: who picked which record, and when."""

    record_id: str
    record_type: str
    picked_by: str | None
    picked_at: datetime  # aware, in UTC

    @classmethod
    def of(cls, record_id: str, record_type: str, picked_by: str | None, picked_at: datetime) -> "PickedRecord":
        # SQLite hands back naive datetimes even for timezone-aware columns.
        aware = picked_at if picked_at.tzinfo else picked_at.replace(tzinfo=timezone.utc)
        return cls(record_id, record_type, picked_by, aware)


def remembered_pick(org_id: str, e164: str) -> RememberedPick | None:
    return db.session.execute(_PICK_OF_NUMBER, {"org_id": org_id, "e164": e164}).scalar_one_or_none()


def pick_for_pop(org_id: str, e164: str) -> PickedRecord | None:
    """The number's pick read as a plain row, as committed now: the same answer as `remembered_pick` for a third of
    the CPU (no ORM object is built or tracked) and outside the request's transaction, for the screen pop, which only
    reads it."""
    row = read_one(_PICK_FOR_POP, {"org_id": org_id, "e164": e164})
    return PickedRecord.of(*row) if row is not None else None


def remember_pick(org_id: str, e164: str, *, record_id: str, record_type: str, user_id: str,
                  user_name: str | None = None, call_id: str | None = None,
                  now: datetime | None = None) -> RememberedPick:
    """Record (or replace) the pick for this number and commit it; the later of two simultaneous picks wins."""
    values = dict(record_id=record_id, record_type=record_type, picked_by_user_id=user_id,
                  picked_by_name=user_name, picked_at=now or datetime.now(timezone.utc), call_id=call_id)
    try:
        saved = _save_pick(org_id, e164, values)
    except IntegrityError:  # another request inserted the row between our read and our insert
        db.session.rollback()
        saved = _save_pick(org_id, e164, values)
    if call_id:  # the number's pick may be replaced before the call is logged: the call keeps its own
        remember_call_pick(call_id, record_id=record_id, record_type=record_type, user_id=user_id,
                           now=values["picked_at"])
    return saved


def _save_pick(org_id: str, e164: str, values: dict) -> RememberedPick:
    pick = remembered_pick(org_id, e164)
    if pick is None:
        pick = RememberedPick(org_id=org_id, e164=e164)
        db.session.add(pick)
    for name, value in values.items():
        setattr(pick, name, value)
    db.session.commit()
    return pick


def forget_pick(org_id: str, e164: str) -> bool:
    """Drop the pick for this number; True when there was one."""
    pick = remembered_pick(org_id, e164)
    if pick is None:
        return False
    db.session.delete(pick)
    db.session.commit()
    return True


# -- the pick made during one call ----------------------------------------------------------------------------------

class CallPick(db.Model):
    """The record an agent picked in the panel during one call: what that call is logged against.

    Kept per call, not only on the number's remembered pick, because the number's pick is replaced by the next
    pick for the same number (another call, another agent) before this call's end may have been processed.
    """

    __tablename__ = "call_picks"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(255), unique=True)
    record_id: Mapped[str] = mapped_column(String(18))
    record_type: Mapped[str] = mapped_column(String(40))
    picked_by_user_id: Mapped[str | None] = mapped_column(String(18))
    picked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def remember_call_pick(call_id: str, *, record_id: str, record_type: str, user_id: str | None = None,
                       now: datetime | None = None) -> None:
    """Record (or replace) the record picked during `call_id` and commit; the later of two picks wins."""
    for _attempt in range(2):
        pick = call_pick(call_id) or CallPick(call_id=call_id)
        pick.record_id, pick.record_type = record_id, record_type
        pick.picked_by_user_id, pick.picked_at = user_id, now or datetime.now(timezone.utc)
        db.session.add(pick)
        try:
            db.session.commit()
            return
        except IntegrityError:  # the same call's pick was inserted concurrently: update that one
            db.session.rollback()


def call_pick(call_id: str) -> CallPick | None:
    return db.session.execute(select(CallPick).where(CallPick.call_id == call_id)).scalar_one_or_none()
