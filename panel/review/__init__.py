"""The review queue: calls a person must place (several matches, none, a permanent error). `queue` reads the waiting
calls and records each decision exactly once; `views` shows them to reviewers."""
