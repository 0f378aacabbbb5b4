"""What a worker claims: checks without locations, plus its own location's copy of located ones.

A worker with a location (``auditor worker --location eu-west``) runs every check without
locations as before (any one worker runs each due time) and, for checks that name its
location, that location's own run of each due time. It adopts its location's rows first
(:func:`auditor.store.location_claims.adopt_location`), at most every ``adopt_every_s``.
"""

from __future__ import annotations

import time
from datetime import datetime

from auditor.store.claims import Claim, claim_due
from auditor.store.db import Database
from auditor.store.location_claims import adopt_location, claim_located


class Claimer:
    """Claims for one worker; keeps when its location's rows were last adopted."""

    def __init__(self, location: str = "", adopt_every_s: float = 2.0) -> None:
        self.location = location
        self.adopt_every_s = adopt_every_s
        self._adopted_at = float("-inf")

    def claim(
        self,
        store: Database,
        worker: str,
        now: datetime,
        limit: int,
        lease_s: float,
        *,
        horizon_s: float,
    ) -> list[Claim]:
        claims = claim_due(store, worker, now, limit, lease_s, horizon_s=horizon_s)
        if not self.location or len(claims) >= limit:
            return claims
        if time.monotonic() - self._adopted_at >= self.adopt_every_s:
            adopt_location(store, self.location, now)
            self._adopted_at = time.monotonic()
        located = claim_located(
            store,
            worker,
            self.location,
            now,
            limit - len(claims),
            lease_s,
            horizon_s=horizon_s,
        )
        return sorted(claims + located, key=lambda c: c.start_at)
