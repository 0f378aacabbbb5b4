"""Real Apache httpd (Debian's apache2 binary), configured the way people ship it."""

from __future__ import annotations

import pytest

from tests.realapps.audit import codes, exposure, finding
from tests.realapps.servers import start_apache

pytestmark = pytest.mark.slow

#: Debian's mods-available/status.conf and info.conf, with the access rule left open — what
#: "Require local" becomes once the server sits behind a proxy on the same host
STATUS = """
<Location /server-status>
    SetHandler server-status
    Require {rule}
</Location>
<Location /server-info>
    SetHandler server-info
    Require {rule}
</Location>
"""


async def test_stock_debian_site_with_open_status_pages() -> None:
    site = STATUS.format(rule="all granted")  # ServerTokens unset: Full, as shipped
    with start_apache(site, document_root="/var/www/html") as url:
        result = await exposure(url)
    assert codes(result) == [
        "exposure.default_page",
        "exposure.server_status",
        "exposure.server_version",
    ]
    assert "Apache default page" in finding(result, "exposure.default_page")
    status = finding(result, "exposure.server_status")
    assert "/server-status" in status and "/server-info" in status
    assert "fix: restrict the location" in status
    assert str(result.status) == "fail"


async def test_hardened_site_with_protected_status_pages() -> None:
    site = "ServerTokens Prod\nServerSignature Off\n" + STATUS.format(rule="ip 192.0.2.10")
    with start_apache(site) as url:
        result = await exposure(url)
    assert codes(result) == [], result.summary
    statuses = result.facts["paths"]["statuses"]
    assert statuses[f"{url}/server-status"] == 403
    assert result.facts["banners"] == []
