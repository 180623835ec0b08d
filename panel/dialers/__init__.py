"""Dialer adapters: each vendor's call events, as it sends them, into the panel's call ledger.

`POST /webhooks/<dialer>` (panel.dialers.intake) verifies the vendor's own scheme, answers its handshake and maps
its events onto the panel's (panel.calls.events), which the same pipeline logs exactly once. One module per vendor,
each a pure `receive(delivery, config)` (panel.dialers.base) citing the vendor's documentation:

    zoom         Zoom Phone webhooks                       PANEL_ZOOM_WEBHOOK_SECRET
    dialpad      Dialpad call and SMS event subscriptions  PANEL_DIALPAD_WEBHOOK_SECRET
    ringcentral  RingCentral telephony-session webhooks    PANEL_RINGCENTRAL_VERIFICATION_TOKEN
    aircall      Aircall webhooks                          PANEL_AIRCALL_WEBHOOK_TOKEN
    twilio       Twilio Voice status callbacks, SMS        PANEL_TWILIO_AUTH_TOKEN
    webex        Webex Contact Center task webhooks        PANEL_WEBEX_WEBHOOK_SECRET
    connect      Amazon Connect contact events via an EventBridge API destination   PANEL_CONNECT_API_KEY
    miitel       MiiTel outgoing webhooks (after the call) PANEL_MIITEL_WEBHOOK_TOKEN

`identities`: PANEL_DIALER_USERS, who the vendors' agents are. Setting up each dialer: docs/dialers.md.
"""
