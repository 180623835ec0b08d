"""Signing in: the OAuth sign-in (`auth`), the cross-site iframe's popup sign-in and session carriers (`embed`),
and the stored Salesforce connections with their encrypted tokens (`models`)."""
