"""Call events from the dialer, and the rules that turn each ended call into exactly one Salesforce Task.

- `signing`: webhook signatures (HMAC-SHA256 over timestamp and raw body, rotation-friendly).
- `events`: the webhook body, validated into a `CallEvent`.
- `state`: `apply`, the order- and duplicate-proof fold of a call's events into a `CallState`.
- `logging_rules`: whether a call is logged and the Task fields (subject, local date, WhoId/WhatId, description).
- `retry`: which failures are transient and how long to back off.

Nothing in this package talks to Salesforce or Flask; the webhook endpoint and the jobs call into it.
"""
