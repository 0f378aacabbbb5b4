"""The migrations check obeys the address policy (DESIGN §8) before any database connection."""

from __future__ import annotations

from auditor.probe.addresses import AddressPolicy
from auditor.probe.http import HttpProber
from auditor.schedule.runner import run_check
from checks.base import RunStatus, Target
from checks.migrations import MigrationsCheck


async def test_a_dsn_to_a_forbidden_address_is_blocked_before_connecting() -> None:
    check = MigrationsCheck()
    options = check.Options.model_validate({"dsn_env": "DSN", "expected": ["1"]})
    target = Target(service="s", url="https://x", check="migrations", kind="migrations")
    for dsn, prober in [
        ("postgresql://u:pw@169.254.169.254/db", HttpProber()),
        (
            "mysql+pymysql://u:pw@127.0.0.1:3306/test",
            HttpProber(AddressPolicy(allow_private_networks=False)),
        ),
    ]:
        result = await run_check(
            check, target, options, prober=prober, timeout=5, environ={"DSN": dsn}
        )
        assert result.status is RunStatus.ERROR
        assert result.error_kind == "blocked_by_policy"
        assert [f.code for f in result.findings] == ["migrations.blocked_by_policy"]
        assert "pw" not in result.summary
