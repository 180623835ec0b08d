"""`make bench` (`python -m bench`): the panel measured against the physical limit, and a chaos soak.

The panel runs as it would in production — gunicorn web workers plus separate huey worker processes sharing a
database and Redis — with the local org standing in for Salesforce and adding a fixed delay to every API request
(`PANEL_LOCALORG_LATENCY_MS`, 100 ms by default: a realistic round trip to a Salesforce pod). A separate process
drives it and reads the local org's request counter, so every figure is observed from outside, as a dialer and an
agent would see it. `--quick` runs a tiny version that only proves the machinery works.

Modules: `stack` starts and stops the processes, `client` signs in and sends signed call events, `figures` takes
the measurements, `soak` is the chaos run (also used, scaled down, by tests/test_soak.py), `worker` is the huey
worker process the runs start (it can be told where the local org is and shorten a killed worker's leases),
`sweep` runs the worker's periodic sweep once with its clock moved ahead.
"""
