"""One piece of work per key at a time, across threads, web processes and workers: the others wait for its answer.

The screen pop uses it so that a ringing call's pre-fetch (a worker) and the panel's pop (a web process), arriving
together, look the caller up once: whoever claims the key looks up; the rest watch the shared cache for the answer
(`ready`) and serve it. The wait is bounded: when the claim's holder fails (it lets go without an answer) a waiter
takes its own turn, and when the holder hangs or its process died (the claim stays until it expires) a waiter works
alone once `wait_s` has passed. Keys are per org, agent and number, so nobody else ever waits.

The claim lives in the app's cache (`panel.extensions.cache`), which both configurations share the way they share
the answers:

- RedisCache (REDIS_URL): `SET key token NX PX ms` claims the key and gives the claim its expiry in one atomic
  command, and a script deletes it only while it still holds this claim's token, so a holder whose claim expired
  cannot release a later one (https://redis.io/commands/set, "Patterns"). cachelib's own `add` is not used: it
  sends SETNX and then EXPIRE, two commands, so a process dying between them would leave a claim that never expires
  (cachelib 0.17 `RedisCache.add`, https://github.com/pallets-eco/cachelib/blob/main/src/cachelib/redis.py).
- SimpleCache (the default, one process): `add` checks and writes under the cache's own lock, so among the
  process's threads exactly one claims the key (cachelib `SimpleCache.add`,
  https://github.com/pallets-eco/cachelib/blob/main/src/cachelib/simple.py); the release compares and deletes
  under that same lock. A SimpleCache over its threshold may prune a claim early: the cost is one extra lookup.
- Any other cache: its `add` as offered (a NullCache claims every time: no waiting, as before).
"""

from __future__ import annotations

import contextlib
import math
import secrets
import threading
import time
from typing import Callable, TypeVar

from panel.extensions import cache

__all__ = ["once"]

POLL_S = 0.02  # how often a waiter looks for the answer: a cache read, far below a Salesforce round trip

_T = TypeVar("_T")
_R = TypeVar("_R")

# Deletes the claim only while it is still this claim (KEYS[1] holds ARGV[1]).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def once(key: str, *, ready: Callable[[], _T | None], work: Callable[[], _R], hold_s: float,
         wait_s: float) -> _T | _R:
    """`work()`, unless another thread or process is already doing it for `key`: then what `ready()` finds once
    that one is done.

    `ready` reads the answer the work leaves in the cache (None while there is none); `hold_s` bounds how long a
    claim can outlive a holder that died; `wait_s` bounds the wait, after which this caller works anyway.
    """
    deadline = time.monotonic() + wait_s
    claim_key = key  # a cache key of its own (the pop's: panel:pop:flight:<org>:<user>:<number>)
    while True:
        token = _claim(claim_key, hold_s)
        if token is not None:
            try:
                answer = ready()  # the holder before us may have finished between our miss and our claim
                return answer if answer is not None else work()
            finally:
                _release(claim_key, token)
        while _held(claim_key) and time.monotonic() < deadline:
            time.sleep(POLL_S)
            answer = ready()
            if answer is not None:
                return answer
        answer = ready()
        if answer is not None:
            return answer
        if time.monotonic() >= deadline:
            return work()  # the holder hangs or died: waited long enough
        # The holder let go without an answer (it failed): take a turn.


def _redis_backend():
    """The cachelib RedisCache behind `cache`, or None for the other backends."""
    backend = cache.cache
    return backend if hasattr(backend, "_write_client") and hasattr(backend, "_get_prefix") else None


def _claim(key: str, hold_s: float) -> str | None:
    token = secrets.token_hex(16)
    redis = _redis_backend()
    if redis is not None:
        claimed = redis._write_client.set(redis._get_prefix() + key, token, nx=True,
                                          px=max(1, int(hold_s * 1000)))
        return token if claimed else None
    return token if cache.add(key, token, timeout=max(1, math.ceil(hold_s))) else None


def _release(key: str, token: str) -> None:
    redis = _redis_backend()
    if redis is not None:
        redis._write_client.eval(_RELEASE, 1, redis._get_prefix() + key, token)
        return
    with _backend_lock():
        if cache.get(key) == token:
            cache.delete(key)


def _held(key: str) -> bool:
    redis = _redis_backend()
    if redis is not None:
        return bool(redis._read_client.exists(redis._get_prefix() + key))
    return cache.get(key) is not None


def _backend_lock():
    """The SimpleCache's own lock (an RLock, so its `get` and `delete` inside still work), else nothing."""
    lock = getattr(cache.cache, "_lock", None)
    return lock if isinstance(lock, type(threading.RLock())) else contextlib.nullcontext()
