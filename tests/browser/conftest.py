"""Fixtures for the browser tests; the machinery lives in panel_browser.py (skips the folder without Chromium)."""

from panel_browser import live, new_browser  # noqa: F401  (pytest finds fixtures by name here)
