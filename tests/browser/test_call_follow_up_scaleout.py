"""The panel follows a call to its logged Task on the scale-out configuration too: PostgreSQL and Redis, the web node
serving the browser and the jobs worker in an app of its own, as on another machine (`live_scaleout`). The fragment
the panel polls reads the call's row, which the worker writes: nothing has to travel between the two but the
database. Skipped, saying why, without PostgreSQL or Redis."""

from __future__ import annotations

from test_call_follow_up import follow_a_call_to_its_logged_task


def test_on_the_scale_out_configuration_the_panel_shows_what_the_worker_logged(live_scaleout, new_browser):
    follow_a_call_to_its_logged_task(live_scaleout, new_browser, "scale-out")
