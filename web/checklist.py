"""The checklist items a service's attestations may sign, shared by the form and the API.

An attestation counts only when an ``attestation`` check of the service names its item
exactly (the readiness overlay matches ``(service, item)``), so a free-text item that no
check reads would be signed and then silently ignored. Both the dashboard form and
``POST /attestations`` therefore accept only the items listed here.
"""

from __future__ import annotations

from auditor.config import PRODUCTION_PROFILE
from auditor.store.check_admin import checks_of_kind
from auditor.store.db import Database
from auditor.store.models import Service


#: the production profile's checklist (DESIGN §4): offered to a service with that profile
def _signable(kind: str, options: dict[str, object]) -> bool:
    """An attestation check, or an evidence check whose fallback is a sign-off."""
    return kind == "attestation" or (
        kind == "evidence" and options.get("fallback", "attestation") == "attestation"
    )


PROFILE_ITEMS: tuple[str, ...] = tuple(
    str(c["item"]) for c in PRODUCTION_PROFILE if _signable(str(c["kind"]), dict(c))
)


def checklist_items(store: Database, svc: Service) -> list[str]:
    """The items of the service's attestation checks and of its evidence checks that fall back
    to a sign-off, plus its profile's checklist, sorted."""
    items = {
        str((c.options or {}).get("item", "")).strip()
        for kind in ("attestation", "evidence")
        for c in checks_of_kind(store, svc.id, kind)
        if _signable(kind, dict(c.options or {}))
    }
    if svc.profile == "production":
        items.update(PROFILE_ITEMS)
    return sorted(items - {""})


def unknown_item(item: str, items: list[str]) -> str | None:
    """Why ``item`` cannot be signed for a service with ``items``; ``None`` when it can."""
    if item in items:
        return None
    if not items:
        return (
            f"{item!r} is not a checklist item of this service: it has no attestation "
            "checks; add an attestation check naming the item first"
        )
    return f"{item!r} is not a checklist item of this service; choose one of: " + ", ".join(
        repr(i) for i in items
    )
