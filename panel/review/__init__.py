"""The review queue: calls a person must place (several matches, none, a permanent error)."""
