"""Signing in and acting as a Salesforce user.

- `auth`: the OAuth sign-in views (`/auth/login`, `/auth/callback`, `/auth/logout`).
- `embed`: signing in inside a dialer's cross-site iframe (popup, one-time code) and the session's two carriers
  (partitioned cookie, short-lived token).
- `session`: who is signed in on this request (`current_connection`, `login_required`, `get_salesforce`): what every
  other package imports, never the views above.
- `connections`: the one way the panel gets a Salesforce client (an agent's, the integration user's), the one
  token renewal and the one token store.
- `models`: the stored connections with their tokens encrypted at rest.
"""
