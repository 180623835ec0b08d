"""The adapters by name (panel.config.DIALER_SECRETS names the same dialers and their secrets)."""

from __future__ import annotations

from types import ModuleType

from panel.config import DIALER_SECRETS
from panel.dialers import aircall, connect, dialpad, miitel, ringcentral, twilio, webex, zoom

__all__ = ["ADAPTERS", "DIALERS", "adapter"]

# Each module has `NAME`, `SECRET` (its main secret's environment name), `SECRETS` and `SETTINGS` (further names it
# reads), `MAX_BODY_BYTES`, `receive(delivery, config)` and `demo_delivery(...)` (panel.dialers.base).
ADAPTERS: dict[str, ModuleType] = {module.NAME: module for module in (zoom, dialpad, ringcentral, aircall, twilio,
                                                                      webex, connect, miitel)}
DIALERS: tuple[str, ...] = tuple(DIALER_SECRETS)
assert set(ADAPTERS) == set(DIALERS), "panel.config.DIALER_SECRETS and the adapters name the same dialers"


def adapter(dialer: str) -> ModuleType | None:
    """The adapter module for a dialer's name (None for an unknown name)."""
    return ADAPTERS.get(dialer)
