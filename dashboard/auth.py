"""HTTP Basic access control, enforced on the server.

- Analyst pages are open unless ANALYST_USER and ANALYST_PASSWORD are both set.
- Admin callbacks (any that touches a component of ``dashboard.ids.ADMIN``) need ADMIN_USER
  and ADMIN_PASSWORD; with either unset, admin actions are disabled (403), never a
  default password. A Flask ``before_request`` guard refuses such callback requests
  before Dash runs them, and each admin callback checks again itself.
- Every admin action runs in the admin's own authenticated request; a run is a request the
  callback records in the store's queue, claimed once by the queue's executor
  (``store.run_requests``), so no permission travels to another process.
- Failed logins are logged and limited per user and address with a global budget
  (``LoginGate``, ``store.logins``); forged,
  oversized and malformed requests are refused first (``dashboard.security``).
Secrets are compared with ``hmac.compare_digest``.
"""
from __future__ import annotations

import html
import hmac
import json
import logging
import re
import secrets
from datetime import datetime
from typing import Any, Callable

from flask import Flask, Response, request

from config.settings import Settings
from contract.errors import Refusal
from store import deadline, logins
from store.times import utc_now

from . import ids, security

log = logging.getLogger(__name__)

ADMIN_PATH = "/admin"
CALLBACK_PATH = "/_dash-update-component"
LOCATION_ID = "_pages_location"  # Dash Pages' location component: the router's pathname input
OPEN_PATHS = ("/healthz",)
_ID_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class NotAuthorized(Refusal):
    """Raised inside admin callbacks when the request carries no valid admin credentials."""


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def credentials_match(auth: Any, user: str | None, password: str | None) -> bool:
    """True when ``auth`` (a werkzeug Authorization or None) carries exactly user/password."""
    if not (user and password) or auth is None or auth.type != "basic":
        return False
    given_user, given_pw = auth.username or "", auth.password or ""
    # Evaluate both comparisons so timing does not reveal which one failed.
    return _same(given_user, user) & _same(given_pw, password)


def admin_name(auth: Any, settings: Settings) -> str | None:
    """The admin's user name when ``auth`` is valid admin credentials, else None."""
    return settings.admin_user if credentials_match(auth, settings.admin_user, settings.admin_password) else None


def analyst_allowed(auth: Any, settings: Settings) -> bool:
    if not settings.analyst_login_required:
        return True
    return credentials_match(auth, settings.analyst_user, settings.analyst_password) or admin_name(auth, settings) is not None


_PAGE_401 = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;margin:0;color:#212529}}
main{{max-width:36rem;margin:4rem auto;padding:0 1rem}}a{{color:#0a58ca;margin-right:1.5rem}}
a:focus{{outline:3px solid #0a58ca;outline-offset:2px}}</style></head>
<body><main><h1>{title}</h1><p id="auth-message">{message}</p>
<p><a id="auth-home" href="/">Back to the forecast</a><a id="auth-signin" href="/admin">Sign in to the admin page</a></p>
</main></body></html>
"""


def challenge(message: str, realm: str, title: str = "Sign-in needed") -> Response:
    """401 asking for HTTP Basic credentials: a page with a way back for a browser that navigates here
    (shown when the user cancels the sign-in dialog, and after Sign out), plain text for anything else."""
    headers = {"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8"'}
    if request.method == "GET" and request.accept_mimetypes.accept_html:
        body = _PAGE_401.format(title=html.escape(title), message=html.escape(message[:1].upper() + message[1:] + "."))
        return Response(body, 401, headers, mimetype="text/html")
    return Response(message + "\n", 401, headers, mimetype="text/plain")


def _ids(items: Any) -> list[str]:
    """Component ids named in a Dash callback request part (list/dict/nested lists)."""
    out: list[str] = []
    if isinstance(items, dict):
        cid = items.get("id")
        out.append(cid if isinstance(cid, str) else json.dumps(cid, sort_keys=True))
    elif isinstance(items, list):
        for item in items:
            out.extend(_ids(item))
    return out


def _id_tokens(text: str) -> set[str]:
    """The id-like words of a callback's output string ("..a.b...c.d@hash..") or a dict id's JSON."""
    return set(_ID_TOKEN.findall(text))


def _spec_words(spec: dict | None) -> set[str]:
    """The component ids a registered callback (``app.callback_map`` entry) outputs, reads and keeps."""
    if spec is None:
        return set()
    named = _ids(spec.get("inputs")) + _ids(spec.get("state"))
    return set(named).union(*map(_id_tokens, named), _id_tokens(str(spec.get("output") or "")))


def _path_value(body: dict, spec: dict | None) -> tuple[bool, Any]:
    """(whether this is the page router, the pathname it will route).

    Dash hands a callback its inputs by position, whatever property names the body gives them,
    so the pathname is the body's input at the position where the registration has
    ``_pages_location.pathname``. Without a registration (a malformed body), any input of the
    location component counts."""
    raw = body.get("inputs")
    given: list = raw if isinstance(raw, list) else []
    if spec is not None:
        wanted = spec.get("inputs") or []
        for position, dep in enumerate(wanted):
            if isinstance(dep, dict) and (dep.get("id"), dep.get("property")) == (LOCATION_ID, "pathname"):
                item = given[position] if position < len(given) else None
                return True, item.get("value") if isinstance(item, dict) else None
        return False, None
    for item in given:
        if isinstance(item, dict) and item.get("id") == LOCATION_ID:
            return True, item.get("value")
    return False, None


def _is_admin_path(path: str) -> bool:
    return path.rstrip("/").endswith(ADMIN_PATH)


def admin_callback_kind(body: dict, spec: dict | None = None,
                        is_admin_path: Callable[[str], bool] = _is_admin_path) -> str | None:
    """"action" when a ``/_dash-update-component`` body touches an admin component (``ids.ADMIN``),
    "page" when it renders the admin page (client-side navigation, no GET /admin), else None.

    Decided by the registered callback ``spec`` (what Dash will run) and the path the router will
    route (``is_admin_path``), never by names the client chooses; the ids the body names count too.
    A router request whose pathname is not text is treated as the admin page (it needs admin)."""
    named = _ids(body.get("outputs")) + _ids(body.get("inputs")) + _ids(body.get("state"))
    words = set(named).union(*map(_id_tokens, named), _id_tokens(str(body.get("output") or "")))
    if (words | _spec_words(spec)) & ids.ADMIN:
        return "action"
    router, path = _path_value(body, spec)
    if router and (not isinstance(path, str) or is_admin_path(path)):
        return "page"
    return None


def callback_is_admin(body: dict) -> bool:
    return admin_callback_kind(body) is not None


def _request_kind(callback_spec: Callable[[str], dict | None],
                  is_admin_path: Callable[[str], bool] = _is_admin_path) -> tuple[str | None, Response | None]:
    """(admin kind of this request, a 400 refusal for a callback body Dash cannot run or None).

    The kind is read even from a malformed body, so that the login check comes first and an
    unauthenticated client learns nothing about which callbacks exist."""
    if request.path.rstrip("/") == ADMIN_PATH:
        return "page", None
    if request.path != CALLBACK_PATH or request.method != "POST":
        return None, None
    # Not forced: security.refuse_unsafe already required application/json, and a body that
    # does not parse (or nests too deep) is refused here instead of failing inside Dash.
    body = request.get_json(silent=True)
    problem = security.callback_body_problem(body, callback_spec)
    spec = callback_spec(body["output"]) if isinstance(body, dict) and isinstance(body.get("output"), str) else None
    kind = admin_callback_kind(body, spec, is_admin_path) if isinstance(body, dict) else None
    return kind, security.plain(f"bad callback request: {problem}", 400) if problem else None


class LoginGate:
    """Failed logins: logged (user name and address, never the password) and limited per user
    and address with a global budget, in the store (``store.logins``), so the limit holds
    across workers; right sign-ins are noted, so their addresses stay known to the limit."""

    def __init__(self, get_engine: Callable[[], Any], now: Callable[[], datetime] = utc_now,
                 limit: logins.LoginLimit = logins.LoginLimit()):
        self.get_engine, self.now, self.limit = get_engine, now, limit

    def standing(self, user: str, address: str) -> logins.Standing | None:
        """The limit's view of this user and address; None when the store cannot say."""
        try:
            with deadline.exempt():  # a late slot must not skip the limit (store.deadline)
                return logins.standing(self.get_engine(), user, address, self.now(), self.limit)
        except Exception as exc:  # the store is down: the credential check still applies
            log.warning("could not read the login limit (%s); checking credentials only", type(exc).__name__)
            return None

    def failed(self, auth: Any, address: str, role: str, standing: logins.Standing | None) -> None:
        log.warning("failed %s login: user %s from %s on %s", role, security.shorten(auth.username or ""), address,
                    security.shorten(request.path))
        try:
            with deadline.exempt():  # nor go uncounted
                logins.record_failure(self.get_engine(), auth.username or "", address, self.now(), self.limit,
                                      known=standing is not None and standing.known_since is not None)
        except Exception as exc:
            log.warning("could not count the failed login (%s)", type(exc).__name__)

    def succeeded(self, auth: Any, address: str, standing: logins.Standing | None) -> None:
        """Note a right sign-in (at most once a day per user and address)."""
        now = self.now()
        if standing is None or (standing.known_since is not None and now - standing.known_since < logins.KNOWN_REFRESH):
            return
        try:
            logins.record_success(self.get_engine(), auth.username or "", address, now, self.limit)
        except Exception as exc:
            log.warning("could not note the sign-in (%s)", type(exc).__name__)

    def too_many(self, which: str) -> Response:
        minutes = max(1, self.limit.window_s // 60)
        whom = "for this user from this address" if which == "pair" else "on this site (an attack is under way)"
        return security.plain(f"too many failed logins {whom}; try again in {minutes} minutes", 429,
                              {"Retry-After": str(self.limit.window_s)})


def install_guard(server: Flask, get_settings: Callable[[], Settings], get_engine: Callable[[], Any] | None,
                  callback_spec: Callable[[str], dict | None], now: Callable[[], datetime] = utc_now,
                  is_admin_path: Callable[[str], bool] = _is_admin_path) -> None:
    """Refuse forged, malformed and unauthenticated requests before Dash sees them.

    ``callback_spec(output)``: Dash's registration of a callback, or None (see
    ``security.callback_body_problem``); ``is_admin_path(pathname)``: whether Dash's page router
    renders the admin page for it; ``get_engine`` gives the store of the login limit."""
    gate = LoginGate(get_engine, now) if get_engine is not None else None

    @server.before_request
    def _guard():  # a Flask hook
        if request.path in OPEN_PATHS:
            return None
        refused = security.refuse_unsafe(request)
        if refused is not None:
            return refused
        settings = get_settings()
        kind, malformed = _request_kind(callback_spec, is_admin_path)
        if kind is not None and not settings.admin_enabled:
            if kind == "action":
                return security.plain("admin actions are disabled: set ADMIN_USER and ADMIN_PASSWORD", 403)
            kind = None  # the admin page itself renders and says why it is disabled
        if kind is not None or settings.analyst_login_required:
            refused = _check_login(settings, kind, gate)
            if refused is not None:
                return refused
        return malformed


def _check_login(settings: Settings, kind: str | None, gate: "LoginGate | None") -> Response | None:
    """Credentials for an analyst page (``kind`` None) or an admin page/action; 429 once this user
    and address used up its failed tries (or everyone's budget is spent and the address is not
    one where the user signed in before), whatever it sends next."""
    auth, address = request.authorization, request.remote_addr or "unknown"
    limited = gate if auth is not None else None
    standing = limited.standing(auth.username or "", address) if limited is not None and auth is not None else None
    refused = standing.refused(limited.limit) if limited is not None and standing is not None else None
    if limited is not None and refused is not None:
        return limited.too_many(refused)
    if not analyst_allowed(auth, settings):
        if limited is not None:
            limited.failed(auth, address, "analyst", standing)
        return challenge("login required", "forecast dashboard")
    if kind is not None and admin_name(auth, settings) is None:
        # An analyst's right credentials on an admin request are not a failed admin login.
        if limited is not None and not credentials_match(auth, settings.analyst_user, settings.analyst_password):
            limited.failed(auth, address, "admin", standing)
        return challenge("admin credentials required", "forecast admin")
    if limited is not None and (settings.analyst_login_required or kind is not None):
        limited.succeeded(auth, address, standing)
    return None


def require_admin(settings: Settings) -> str:
    """Inside an admin callback: the admin's name, or raise NotAuthorized."""
    if not settings.admin_enabled:
        raise NotAuthorized("admin actions are disabled: set ADMIN_USER and ADMIN_PASSWORD")
    name = admin_name(request.authorization, settings)
    if name is None:
        raise NotAuthorized("admin credentials required")
    return name


def install_signout(server: Flask) -> None:
    """``/logout``: HTTP Basic has no sign-out, but a 401 under a fresh realm makes the browser
    drop the credentials it was sending (and ask again on the next admin page)."""
    def logout():
        realm = f"signed out {secrets.token_hex(4)}"
        return challenge("you are signed out of the admin page; your browser has forgotten the admin password", realm,
                         title="Signed out")

    server.add_url_rule("/logout", "logout", logout)
