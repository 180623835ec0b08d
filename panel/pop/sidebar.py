"""The sidebar itself: the home page and `GET /panel`, the page a dialer embeds, and the site's icon.

`/panel` without a phone number shows the signed-in agent's empty panel ("Waiting for a call"); the screen pop
(panel.pop.views) extends the same view for `/panel?phone=…`.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, send_from_directory, url_for

from panel import web
from panel.pop import views
from panel.signin.session import current_connection, login_required

bp = Blueprint("sidebar", __name__)
bp.register_error_handler(web.BadInput, views.bad_request)  # `/panel?phone=…` is the pop's


@bp.app_context_processor
def _signed_in_user() -> dict:
    """Every page shows who is signed in (the panel's header)."""
    return {"connection": current_connection()}


@bp.route("/", methods=["GET"])
def home():
    """Signed in: the panel. Signed out: sign in first."""
    if current_connection() is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for("sidebar.show_panel"))


@bp.route("/panel", methods=["GET"])
@login_required
def show_panel():
    """`panel.html`, waiting for a call; with `phone`, the pop for that call (`views.show_pop`: `pop_page.html`,
    or `partials/pop.html` for htmx)."""
    if "phone" in request.args:
        return views.show_pop()
    return web.render("panel.html", {"connection": current_connection()}, vary_on_htmx=True)


@bp.route("/favicon.ico", methods=["GET"])
def favicon():
    """static/favicon.ico where a browser asks for it by itself (pages it shows that name no icon, e.g. the sign-in
    pages of the local org): no failed request on any page. The panel's own pages link it from static/."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)
