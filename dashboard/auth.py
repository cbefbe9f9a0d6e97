"""HTTP Basic access control, enforced on the server.

- Analyst pages are open unless ANALYST_USER and ANALYST_PASSWORD are both set.
- Admin callbacks (every component id starting with ``admin-``) need ADMIN_USER
  and ADMIN_PASSWORD; with either unset, admin actions are disabled (403), never a
  default password. A Flask ``before_request`` guard refuses such callback requests
  before Dash runs them, and each admin callback checks again itself.
- Background callbacks run in another process without a request, so the retrain
  is started through a short-lived HMAC-signed ticket that only an authenticated
  normal callback can issue.
Secrets are compared with ``hmac.compare_digest``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from flask import Flask, Response, request

from marketdata.config import Settings

ADMIN_PREFIX = "admin-"
ADMIN_PATH = "/admin"
CALLBACK_PATH = "/_dash-update-component"
OPEN_PATHS = ("/healthz",)
TICKET_TTL_S = 120


class NotAuthorized(PermissionError):
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


def challenge(message: str, realm: str) -> Response:
    return Response(message + "\n", 401, {"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8"'},
                    mimetype="text/plain")


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


def admin_callback_kind(body: dict) -> str | None:
    """"action" when a ``/_dash-update-component`` body touches admin components, "page" when
    it renders the admin page (client-side navigation, no GET /admin), else None."""
    ids = _ids(body.get("outputs")) + _ids(body.get("inputs")) + _ids(body.get("state"))
    output = body.get("output") or ""
    if any(i.startswith(ADMIN_PREFIX) or f'"{ADMIN_PREFIX}' in i for i in ids) or ADMIN_PREFIX in output:
        return "action"
    for item in body.get("inputs") or []:
        if isinstance(item, dict) and item.get("property") == "pathname" and str(item.get("value", "")).rstrip("/").endswith(ADMIN_PATH):
            return "page"
    return None


def callback_is_admin(body: dict) -> bool:
    return admin_callback_kind(body) is not None


def install_guard(server: Flask, get_settings) -> None:
    """Refuse unauthenticated requests before Dash sees them."""

    @server.before_request
    def _guard():  # noqa: ANN202 - Flask hook
        if request.path in OPEN_PATHS:
            return None
        settings = get_settings()
        auth = request.authorization
        if not analyst_allowed(auth, settings):
            return challenge("login required", "forecast dashboard")
        kind = "page" if request.path.rstrip("/") == ADMIN_PATH else None
        if kind is None and request.path == CALLBACK_PATH and request.method == "POST":
            # force: judge any body that parses as JSON, whatever its Content-Type claims
            kind = admin_callback_kind(request.get_json(force=True, silent=True) or {})
        if kind is None:
            return None
        if not settings.admin_enabled:
            if kind == "action":
                return Response("admin actions are disabled: set ADMIN_USER and ADMIN_PASSWORD\n", 403,
                                mimetype="text/plain")
            return None  # the admin page itself renders and says why it is disabled
        if admin_name(auth, settings) is None:
            return challenge("admin credentials required", "forecast admin")
        return None


def require_admin(settings: Settings) -> str:
    """Inside a (non-background) admin callback: the admin's name, or raise NotAuthorized."""
    if not settings.admin_enabled:
        raise NotAuthorized("admin actions are disabled: set ADMIN_USER and ADMIN_PASSWORD")
    name = admin_name(request.authorization, settings)
    if name is None:
        raise NotAuthorized("admin credentials required")
    return name


def _ticket_key(settings: Settings) -> bytes:
    return hashlib.sha256(b"dashboard-run-ticket\0" + (settings.admin_password or "").encode()).digest()


def _body(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def issue_ticket(settings: Settings, actor: str, request_fields: dict, now: float | None = None) -> dict:
    """A signed, short-lived permission to start one run with exactly ``request_fields``."""
    fields = {"actor": actor, "issued": now if now is not None else time.time(), "nonce": secrets.token_hex(8),
              "request": request_fields}
    return fields | {"sig": hmac.new(_ticket_key(settings), _body(fields), hashlib.sha256).hexdigest()}


def verify_ticket(settings: Settings, ticket: Any, now: float | None = None) -> dict:
    """The ticket's fields if it is genuine and fresh; raise NotAuthorized otherwise."""
    if not settings.admin_enabled:
        raise NotAuthorized("admin actions are disabled: set ADMIN_USER and ADMIN_PASSWORD")
    if not isinstance(ticket, dict) or not isinstance(ticket.get("sig"), str):
        raise NotAuthorized("no run ticket")
    fields = {k: v for k, v in ticket.items() if k != "sig"}
    expected = hmac.new(_ticket_key(settings), _body(fields), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, ticket["sig"]):
        raise NotAuthorized("run ticket signature is wrong")
    age = (now if now is not None else time.time()) - float(fields.get("issued", 0))
    if not 0 <= age <= TICKET_TTL_S:
        raise NotAuthorized("run ticket expired; press Start again")
    return fields
