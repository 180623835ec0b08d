"""A seeded local org store for the SOQL and SOSL engine tests, without the HTTP server in between."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from panel.localorg import records, schema, seed
from panel.localorg.store import Store

TOKYO = ZoneInfo("Asia/Tokyo")
# 2026-11-22 00:30 in Tokyo, 2026-11-21 15:30 UTC: today differs between the org's zone and UTC.
NOW = datetime(2026, 11, 21, 15, 30, tzinfo=timezone.utc)


def seeded_store(path) -> Store:
    store = Store(str(path))
    store.reset(seed.records_at(NOW.timestamp()), seed.sequence_start())
    return store


def put(store: Store, sobject: str, at: datetime = NOW, **values) -> str:
    """Stores a record as if created at `at` (system fields and search visibility follow it)."""
    obj = schema.get_sobject(sobject)
    record_id = store.new_id(obj.name)
    full = records.complete(obj, {**values, "Id": record_id}, user_id=seed.IDS["user.agent"], now=at.timestamp(),
                            lookup=store.row)
    store.put(obj.name, full, at.timestamp())
    return record_id
