"""Load-time check of the receivers Apprise delivers to: a typo fails ``auditor config check``,
not the first alert. No message echoes a URL (it is a secret)."""

from __future__ import annotations

from collections.abc import Mapping

from auditor.config.alerting import AlertingModel
from auditor.config.apprise_urls import AppriseUrlError, target_url, validate


def apprise_problems(alerting: AlertingModel, environ: Mapping[str, str]) -> list[str]:
    """One problem per slack/apprise receiver whose URL Apprise cannot use.

    An ``apprise`` receiver's ``url_env`` must be set at load (like a webhook's secret); a
    ``slack`` receiver's is checked when set (an unset one fails at send, as before).
    """
    problems: list[str] = []
    for index, rcv in enumerate(alerting.receivers):
        if rcv.type not in ("slack", "apprise"):
            continue
        key = "url" if rcv.url else "url_env"
        path = f"alerting.receivers[{index}].{key}"
        url = rcv.url or environ.get(rcv.url_env or "", "")
        if not url:
            if rcv.type == "apprise":
                problems.append(
                    f"{path}: environment variable {rcv.url_env} (Apprise URL of receiver "
                    f"{rcv.name!r}) is not set or empty"
                )
            continue
        where = f"{path}: {rcv.url_env}: " if key == "url_env" else f"{path}: "
        try:
            validate(target_url(rcv.type, url))
        except AppriseUrlError as exc:
            problems.append(f"{where}{exc}")
    return problems
