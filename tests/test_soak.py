"""The chaos soak, scaled down: calls whose events arrive up to three times, out of order, from eight senders at once,
while Salesforce fails a fifth of its requests, every token expires and a worker process is killed mid-run, still
end as exactly one completed Task per call in Salesforce. The full-size run is part of `make bench` (bench/soak.py).

It runs the real deployment shape (gunicorn web workers, separate huey worker processes, Redis), so it needs Redis
and is skipped, saying so, without it."""

from __future__ import annotations

import pytest

from bench.soak import run_soak, soak_stack
from bench.stack import Unavailable


@pytest.fixture
def stack():
    chaos_stack = soak_stack()
    try:
        chaos_stack.start()
    except Unavailable as missing:
        pytest.skip(f"the soak needs Redis: {missing}")
    yield chaos_stack
    chaos_stack.stop()


def test_every_call_ends_as_exactly_one_task_through_duplicates_faults_expiry_and_a_killed_worker(stack):
    result = run_soak(stack, calls=60, senders=8, error_rate=0.2, settle_timeout_s=90, seed=20261125)

    assert result.deliveries > 3 * result.calls  # some events really were delivered more than once
    assert result.sender_statuses.get(200, 0) > 0  # ... and answered as duplicates
    assert not result.unsettled, result.summary()
    assert result.lost == [], result.summary()
    assert result.doubled == [], result.summary()
    assert result.tasks_per_call == {1: result.calls}
    assert result.ledger == {"logged": result.calls}
