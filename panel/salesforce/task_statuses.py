"""Which Task statuses the panel writes, taken from the org: admins rename and replace "Not Started" / "Completed".

Salesforce keeps the Task Status picklist's values as `TaskStatus` records (`ApiName`, `MasterLabel`, `IsClosed`,
`IsDefault`, `SortOrder`; Object Reference, TaskStatus: https://developer.salesforce.com/docs/atlas.en-us.
object_reference.meta/object_reference/sforce_api_objects_taskstatus.htm). Several values may be closed; one is
the default. A Task's `Status` takes a value's API name, and a value the org does not have is refused
(`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`), so hard-coded "Not Started" / "Completed" fail every write in an
org that replaced them.

The panel writes three statuses:

- `open`: a new planned Task — the org's default status when it is open, else its first open one;
- `working`: a call's Task while the call goes on (an agent's note) — "In Progress" when the org has it open,
  else `open`;
- `done`: a Task marked done and a logged call's Task — the org's first closed status in its sort order.

`PANEL_TASK_OPEN_STATUS` / `PANEL_TASK_DONE_STATUS` (API names) choose others, written as they are: a name the org
does not have is refused by Salesforce (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, shown to the agent and the
review queue naming Status).

Cost: the task form's writes (`panel.salesforce.tasks`) read the status in the write's own composite request
(`queries.task_status`, a composite reference in the body), so they cost nothing more and never go stale. The call
Task's writes are single sObject requests: there the org's values are read with one query per org and process and
cached for `CACHE_TTL_S` (`for_org`); a write Salesforce refuses for its status drops the cache (`forget`) and
is sent once more with the values read again (`panel.salesforce.call_tasks`). Nothing here imports Flask.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

from panel.salesforce import queries

__all__ = ["DEFAULT", "StatusChoice", "StatusPreference", "choose", "for_org", "forget"]

CACHE_TTL_S = 3600.0
RESTRICTED_PICKLIST = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


@dataclass(frozen=True)
class StatusChoice:
    """The statuses (API names) the panel writes in one org."""

    open: str
    working: str
    done: str


DEFAULT = StatusChoice(open="Not Started", working="In Progress", done="Completed")

@dataclass(frozen=True)
class StatusPreference:
    """The settings' choices (PANEL_TASK_OPEN_STATUS, PANEL_TASK_DONE_STATUS: API names), None for the org's own.
    Built once from the configuration and handed to every write (the task views, the call pipeline)."""

    open: str | None = None
    done: str | None = None

    @classmethod
    def from_config(cls, config: Mapping) -> "StatusPreference":
        return cls(open=config.get("PANEL_TASK_OPEN_STATUS") or None, done=config.get("PANEL_TASK_DONE_STATUS") or None)


_lock = threading.Lock()
_cache: dict[tuple[str, StatusPreference], tuple[float, StatusChoice]] = {}


def choose(rows: Sequence[Mapping], *, open_status: str | None = None, done_status: str | None = None
           ) -> StatusChoice:
    """The statuses to write, from the org's TaskStatus rows (sort order) and the settings' preferences (written
    as they are)."""
    values = [(str(row.get("ApiName") or row.get("MasterLabel") or ""), bool(row.get("IsClosed")),
               bool(row.get("IsDefault"))) for row in rows]
    values = [value for value in values if value[0]]
    opened = [name for name, closed, _default in values if not closed]
    closed = [name for name, is_closed, _default in values if is_closed]
    if not opened or not closed:  # not an org Salesforce allows; keep what every default org has
        return StatusChoice(open=open_status or DEFAULT.open, working=DEFAULT.working,
                            done=done_status or DEFAULT.done)
    default = next((name for name, is_closed, is_default in values if is_default and not is_closed), opened[0])
    chosen_open = open_status or default
    return StatusChoice(open=chosen_open, working=DEFAULT.working if DEFAULT.working in opened else chosen_open,
                        done=done_status or closed[0])


def for_org(client, preference: StatusPreference) -> StatusChoice:
    """The org's choice, from the cache or one query (raises the client's errors when Salesforce fails)."""
    key = (client.instance_url, preference)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
    if cached is not None and now - cached[0] < CACHE_TTL_S:
        return cached[1]
    rows = client.query(queries.task_statuses()).get("records") or []
    choice = choose(rows, open_status=preference.open, done_status=preference.done)
    with _lock:
        _cache[key] = (now, choice)
    return choice


def forget(client) -> None:
    """Drop the org's cached choices: Salesforce refused a status, so the admin has changed the values."""
    with _lock:
        for key in [key for key in _cache if key[0] == client.instance_url]:
            del _cache[key]

