"""The on-call dashboard: overview matrix, service page, check run page (read-only views).

Reads the latest-state table and readiness only for the overview (never the run history);
the service page adds bounded reads for one service (see :mod:`web.dashboard.data`).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import structlog
from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from auditor.store.evidence import latest_per_item
from auditor.store.models import utcnow
from auditor.store.secret_fields import redact_url, scrub_json
from web import charts
from web.auth import current_principal, login_required
from web.context import get_store
from web.dashboard import data
from web.dashboard.advice import advice
from web.dashboard.evidence import evidence_report
from web.dashboard.locations import locations_by_check
from web.markup import code_spans
from web.nav import nav_attrs

bp = Blueprint("dashboard", __name__)
log = structlog.get_logger("web.dashboard")

STATE_ICONS = data.STATE_ICONS


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {
        "principal": current_principal,
        "state_icons": data.STATE_ICONS,
        "verdict_label": data.VERDICT_LABEL,
        "advice": advice,
        "human_delta": data.human_delta,
        "nav_attrs": nav_attrs,
    }


@bp.app_template_filter("redact_url")
def _redact_url(value: Any) -> str:
    """URLs on pages never show credentials (issue #17)."""
    return redact_url(str(value or ""))


bp.add_app_template_filter(code_spans, "code_spans")


@bp.app_template_filter("when")
def _when(value: Any) -> str:
    at = data.parse_when(value)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


@bp.app_template_filter("ago")
def _ago(value: Any) -> str:
    at = data.parse_when(value)
    if at is None:
        return "never"
    delta = utcnow() - at
    return f"{data.human_delta(delta)} ago" if delta.total_seconds() >= 0 else "just now"


def render_error(exc: HTTPException) -> ResponseReturnValue:
    return render_template("error.html", error=exc), exc.code or 500


for _code in (400, 401, 403, 404, 405, 429):
    bp.register_error_handler(_code, render_error)


def _overview_context() -> dict[str, Any]:
    now = utcnow()
    f = data.Filters.from_args(request.args)
    rows = data.build_rows(get_store(), now)
    shown = data.filter_sort(rows, f)
    pages = max(1, -(-len(shown) // data.PAGE_SIZE))
    page = min(f.page, pages)
    visible = shown[(page - 1) * data.PAGE_SIZE : page * data.PAGE_SIZE]
    params = {k: v for k, v in request.args.items() if k not in ("page", "fragment") and v}

    def page_url(n: int) -> str:
        return "?" + urlencode({**params, "page": n})

    return {
        "now": now,
        "filters": f,
        "rows": visible,
        "total": len(rows),
        "matched": len(shown),
        "counts": data.counts(rows),
        "facets": data.facets(rows),
        "kinds": data.kinds_in(rows),
        "page": page,
        "pages": pages,
        "page_url": page_url,
        "query": urlencode(params),
    }


#: how long one rendered overview (per query string) is served as fresh
OVERVIEW_TTL_S = 5.0
#: after that, the last render is still served (while one thread renders it anew) up to this
OVERVIEW_STALE_S = 30.0
CACHE_KEY = "auditor.overview_cache"
_overview_lock = threading.Lock()  # guards the cache dict and the entries' ``refreshing``
_render_lock = threading.Lock()  # one foreground render at a time (the others wait for it)


@dataclass
class _Entry:
    built: float  # time.monotonic() when the render started
    generation: int  # store.generation when the render started
    ctx: dict[str, Any]
    live: Markup
    refreshing: bool = False


def _render_overview() -> tuple[dict[str, Any], Markup]:
    ctx = _overview_context()
    return ctx, Markup(render_template("dashboard/_overview_live.html", **ctx))


def _refresh(app: Flask, query: str, path: str, base_url: str) -> None:
    """Render ``query`` anew in the background and replace the served entry."""
    cache: dict[str, _Entry] = app.extensions.setdefault(CACHE_KEY, {})
    try:
        # a request context of its own: the render reads ``request.args`` and builds URLs
        with app.test_request_context(path, base_url=base_url, query_string=query):
            started, generation = time.monotonic(), get_store().generation
            ctx, live = _render_overview()
        with _overview_lock:
            cache[query] = _Entry(started, generation, ctx, live)
    except Exception as exc:  # the next viewer after the stale window renders in the foreground
        log.warning("overview_refresh_failed", error=repr(exc))
        with _overview_lock:
            entry = cache.get(query)
            if entry is not None:
                entry.refreshing = False


def _cached_overview() -> tuple[dict[str, Any], Markup]:
    """The overview context and its rendered matrix, shared by every viewer.

    An on-call team keeps the page open and it refreshes itself; with 1,000 services a
    render costs real CPU, so identical queries share one. Fresh for ``OVERVIEW_TTL_S``;
    then, up to ``OVERVIEW_STALE_S``, viewers still get the last render at once while one
    background thread renders it anew (stale-while-revalidate), so nobody waits for a render
    in a busy dashboard. Any edit in this process (``store.generation``) renders it anew
    before it is shown. The matrix holds nothing per user; an empty matrix (which may
    offer "Register a service" to operators) is rendered per request, never shared.
    """
    store = get_store()
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    cache: dict[str, _Entry] = app.extensions.setdefault(CACHE_KEY, {})
    query = urlencode(sorted((k, v) for k, v in request.args.items() if k != "fragment"))

    def usable(entry: _Entry | None, max_age: float) -> bool:
        return (
            entry is not None
            and entry.generation == store.generation
            and time.monotonic() - entry.built < max_age
        )

    with _overview_lock:
        hit = cache.get(query)
        if usable(hit, OVERVIEW_TTL_S):
            assert hit is not None
            return hit.ctx, hit.live
        if usable(hit, OVERVIEW_STALE_S):
            assert hit is not None
            if not hit.refreshing:
                hit.refreshing = True
                threading.Thread(
                    target=_refresh,
                    args=(app, query, request.path, request.url_root),
                    name="overview-refresh",
                    daemon=True,
                ).start()
            return hit.ctx, hit.live
    with _render_lock:  # single-flight: viewers arriving meanwhile wait for this render
        with _overview_lock:
            hit = cache.get(query)
        if usable(hit, OVERVIEW_TTL_S):
            assert hit is not None
            return hit.ctx, hit.live
        started, generation = time.monotonic(), store.generation
        ctx, live = _render_overview()
        if not ctx["rows"]:
            return ctx, live
        with _overview_lock:
            if len(cache) > 256:
                cache.clear()
            cache[query] = _Entry(started, generation, ctx, live)
        return ctx, live


@bp.get("/")
@login_required("viewer")
def overview() -> ResponseReturnValue:
    ctx, live = _cached_overview()
    return render_template("dashboard/overview.html", live_html=live, **ctx)


@bp.get("/overview/live")
@login_required("viewer")
def overview_fragment() -> ResponseReturnValue:
    """The counts + matrix only, for the auto-refresh script (same query string)."""
    return _cached_overview()[1]


@bp.get("/services/<name>")
@login_required("viewer")
def service(name: str) -> ResponseReturnValue:
    now = utcnow()
    rng = request.args.get("range", "24h")
    rng = rng if rng in data.RANGES else "24h"
    found = data.load_service_page(get_store(), name, rng, now)
    if found is None:
        abort(404, description=f"No service named {name!r}.")
    page, hist = found
    svc = page.service
    check_ids = [c.check_id for c in page.readiness.checks if c.check_id]
    charts_by_check: dict[str, dict[str, Any]] = {}
    for cid in check_ids:
        chk = page.checks.get(cid)
        label = f"{chk.name if chk else cid} status, last {rng}"
        buckets = hist.buckets[cid]
        up = charts.uptime(buckets)
        latency = hist.latency.get(cid, [])
        charts_by_check[cid] = {
            "timeline": Markup(charts.status_timeline(buckets, label=label)),
            "sparkline": Markup(
                charts.sparkline(latency, label=f"{chk.name if chk else cid} latency")
            ),
            "uptime": up,
        }
    tiles = _tiles(page, now)
    return render_template(
        "dashboard/service.html",
        page=page,
        r=page.readiness,
        svc=svc,
        hist=hist,
        rng=rng,
        ranges=list(data.RANGES),
        charts=charts_by_check,
        tiles=tiles,
        now=now,
        locations=locations_by_check(get_store(), svc.id, now),
        evidence=latest_per_item(get_store(), svc.id),
    )


def _tiles(page: data.ServicePage, now: Any) -> list[dict[str, Any]]:
    """The at-a-glance facts: certificate countdown, headers grade, migrations, backup age."""
    tiles: list[dict[str, Any]] = []
    by_kind: dict[str, list[Any]] = {}
    for c in page.readiness.checks:
        by_kind.setdefault(c.kind, []).append(c)
    for c in by_kind.get("tls", []):
        st = page.states.get(c.check_id or "")
        metrics = st.metrics if st else {}
        days = metrics.get("days_left")
        not_after = data.parse_when(metrics.get("not_after_ts"))
        if not_after is not None:
            days = (not_after - now).total_seconds() / 86400
        cls, detail = charts.gauge_days(days), _when(not_after) if not_after else "not measured yet"
        if c.state in ("fail", "error"):  # a countdown is no comfort while TLS fails
            cls, detail = f"tl-{c.state}", c.summary or c.why
        elif c.state == "warn" and cls == "tl-pass":
            cls = "tl-warn"
        tiles.append(
            {
                "label": "Certificate expires",
                "value": "—" if days is None else f"{days:.0f} days" if days >= 0 else "expired",
                "detail": detail,
                "cls": cls,
                "state": c.state,
            }
        )
    for c in by_kind.get("headers", []):
        st = page.states.get(c.check_id or "")
        metrics = st.metrics if st else {}
        grade = metrics.get("grade")
        score = metrics.get("score")
        tiles.append(
            {
                "label": "Security headers",
                "value": grade or "—",
                "detail": f"score {score}" if score is not None else "not measured yet",
                "cls": f"tl-{c.state}",
                "state": c.state,
            }
        )
    for c in by_kind.get("migrations", []):
        tiles.append(
            {
                "label": "Migrations",
                "value": {"pass": "up to date", "warn": "attention", "fail": "broken"}.get(
                    c.state, c.state
                ),
                "detail": c.summary or ("not configured" if c.not_configured else "—"),
                "cls": f"tl-{c.state}",
                "state": c.state,
            }
        )
    for c in by_kind.get("backups", []):
        st = page.states.get(c.check_id or "")
        age = data.backup_age(data.last_facts(get_store(), st.last_run_id if st else None), now)
        tiles.append(
            {
                "label": "Newest backup",
                "value": data.human_delta(age) + (" old" if age else ""),
                "detail": c.summary or ("not configured" if c.not_configured else "—"),
                "cls": f"tl-{c.state}",
                "state": c.state,
            }
        )
    return tiles


@bp.get("/runs/<run_id>")
@login_required("viewer")
def run(run_id: str) -> ResponseReturnValue:
    found = data.get_run(get_store(), run_id) if len(run_id) <= 36 else None
    if found is None:
        abort(404, description="No such run (it may be older than the retention window).")
    run_row, chk, svc = found
    facts = scrub_json(dict(run_row.facts or {}), ())  # runs stored before redaction too
    conditions = facts.get("conditions") if isinstance(facts.get("conditions"), list) else None
    timings: dict[str, Any] = {"total (runner)": run_row.duration_ms}
    if isinstance(facts.get("timings"), dict):
        timings.update(facts["timings"])
    for key, value in facts.items():
        if key.endswith("_ms") and isinstance(value, (int, float)):
            timings[key.removesuffix("_ms")] = value
    return render_template(
        "dashboard/run.html",
        run=run_row,
        check=chk,
        svc=svc,
        conditions=conditions,
        timings=timings,
        facts_json=json.dumps(facts, indent=2, sort_keys=True, default=str),
    )


bp.add_url_rule(
    "/services/<name>/evidence/<evidence_id>/report", "evidence_report", evidence_report
)
