"""Call events from the dialer, and turning each ended call into exactly one Salesforce Task.

Pure rules (no Flask, no database, no Salesforce):

- `signing`: webhook signatures (HMAC-SHA256 over timestamp and raw body, rotation-friendly).
- `events`: the webhook body, validated into a `CallEvent`.
- `state`: `apply`, the order- and duplicate-proof fold of a call's events into a `CallState`.
- `choice`: which record an ended call is logged against (note → pick during the call → remembered pick → single
  match → review).
- `logging_rules`: whether a call is logged, the Task fields and subjects (the call's and the notes Task's), and
  `LoggingSettings`, the call-logging settings read once from the configuration.
- `retry`: which failures are transient and how long to back off.

Built on them:

- `intake`: `POST /webhooks/calls`, storing each event before it answers.
- `ledger`: the tables (events, one row per call, review items) and the per-call lease.
- `pipeline`: what one job does for a call: fold, pre-fetch, choose the record, write the Task, retry or review.
- `jobs`: the queue (huey), the periodic sweep and the workers; hands the settings down to the pipeline.
- `notes`: an agent's notes written to the call's Task during or after the call.
"""
