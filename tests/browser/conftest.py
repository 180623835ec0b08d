"""Fixtures for the browser tests; the machinery lives in panel_browser.py (skips the folder without Chromium)."""

from panel_browser import live, live_scaleout, new_browser, noise  # noqa: F401  (pytest finds fixtures by name)
