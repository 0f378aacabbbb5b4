"""The ``exposure`` check kind (DESIGN §1, §3): see ``check.ExposureCheck``.

``signatures`` (stack traces, debug pages, banners) and ``exposition`` (Prometheus text
validation) are pure and table-tested; ``check`` does the probing.
"""

from __future__ import annotations

from checks.exposure.check import ExposureCheck, ExposureOptions

__all__ = ["ExposureCheck", "ExposureOptions"]
