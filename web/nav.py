"""Which main-navigation item a page belongs to, so the header highlights the right one.

Sub-pages count for their section (a service page and a run page are the Overview's; the
service and check forms are Manage's), and the admin pages under ``/manage`` (users, tokens,
audit log) are their own items, not Manage's.
"""

from __future__ import annotations

from markupsafe import Markup

#: section of each endpoint that is not simply its blueprint's
_EXACT = {
    "manage.users": "users",
    "manage.user_update": "users",
    "manage.tokens": "tokens",
    "manage.token_revoke": "tokens",
    "manage.audit": "audit",
    "auth.account": "account",
    "auth.totp_enrol": "account",
}
_BLUEPRINT = {"dashboard": "overview", "manage": "manage"}
#: the endpoint each section's nav link points at (that page is ``aria-current="page"``)
HOME = {
    "overview": "dashboard.overview",
    "manage": "manage.index",
    "users": "manage.users",
    "tokens": "manage.tokens",
    "audit": "manage.audit",
    "account": "auth.account",
}


def section_of(endpoint: str | None) -> str | None:
    """The nav section of a Flask endpoint, ``None`` outside the navigation (login, errors)."""
    if not endpoint:
        return None
    if endpoint in _EXACT:
        return _EXACT[endpoint]
    return _BLUEPRINT.get(endpoint.partition(".")[0])


def nav_attrs(section: str, endpoint: str | None) -> Markup:
    """The attributes of the nav link of ``section`` on the page ``endpoint``: the active
    class, and ``aria-current`` (``page`` on the section's own page, ``true`` on a sub-page)."""
    if section_of(endpoint) != section:
        return Markup("")
    current = "page" if HOME.get(section) == endpoint else "true"
    return Markup(f'class="active" aria-current="{current}"')
