"""Receiver configs as Apprise URLs: what ``slack``, ``email`` and ``apprise`` receivers send to.

Slack and e-mail are delivered by Apprise (github.com/caronc/apprise); their config keys stay
the contract and are translated here into the Apprise URL that does the same thing. Every
Apprise URL is a secret (tokens live in its host, path or userinfo), so nothing here echoes
one in an error message, and :func:`url_secrets` lists the parts to scrub from any text.
:func:`validate` is what the load-time check (:mod:`.apprise_check`) runs, so a typo fails
``auditor config check``, not the first alert.
"""

from __future__ import annotations

import re
from typing import Protocol
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

#: Slack incoming-webhook URLs Apprise reads natively (``slack://A/B/C`` is the same thing)
SLACK_HOOK = re.compile(r"^https://hooks\.slack(-gov)?\.com/(services|workflows|triggers)/\S+$")


#: Apprise URL parameters that are settings, not credentials (kept readable in errors)
PLAIN_PARAMS = frozenset((
    "mode", "method", "format", "overflow", "retry", "wait", "optional", "cto", "rto",
    "verify", "smtp", "from", "to", "cc", "bcc", "name", "priority", "image", "footer",
    "timestamp", "blocks",
))  # fmt: skip


class SmtpFields(Protocol):
    """The e-mail keys of a receiver (``ReceiverModel``)."""

    @property
    def smtp_host(self) -> str | None: ...
    @property
    def smtp_port(self) -> int: ...
    @property
    def starttls(self) -> bool: ...
    @property
    def from_addr(self) -> str | None: ...
    @property
    def to(self) -> list[str]: ...


class AppriseUrlError(ValueError):
    """A receiver URL Apprise cannot use; the message never contains the URL."""


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def slack_url(url: str) -> str:
    """The Apprise URL of a ``slack`` receiver.

    A Slack incoming-webhook URL (or a ``slack://`` URL) goes through Apprise's Slack
    service. Any other ``http(s)://`` URL is a Slack-compatible webhook (Mattermost,
    Rocket.Chat, a relay) and gets what they all read, ``{"text": …}``: Apprise's JSON
    service with its fields mapped (``:message=text``, the others dropped).
    """
    if SLACK_HOOK.match(url) or scheme_of(url) == "slack":
        return url
    if scheme_of(url) not in ("http", "https"):
        raise AppriseUrlError(
            "a slack receiver takes a Slack incoming-webhook URL (https://hooks.slack.com/…), "
            'an Apprise slack:// URL or a Slack-compatible http(s) URL; use type = "apprise" '
            "for other services"
        )
    parts = urlsplit(url)
    params = [(f"-{k}", v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    params += [(":message", "text")] + [(f":{k}", "") for k in SLACK_DROPPED]
    scheme = "jsons" if parts.scheme.lower() == "https" else "json"
    return f"{scheme}://{parts.netloc}{parts.path or '/'}?{urlencode(params)}"


#: fields of Apprise's JSON body a Slack-compatible webhook does not read
SLACK_DROPPED = ("version", "title", "attachments", "type")


def folds_title(kind: str, url: str) -> bool:
    """Whether the title must go into the body (the Slack-compatible JSON has only ``text``)."""
    return kind == "slack" and scheme_of(url) in ("json", "jsons")


def email_url(cfg: SmtpFields, username: str | None, password: str | None) -> str:
    """The Apprise ``mailtos://`` URL of an ``email`` receiver (STARTTLS unless turned off).

    ``starttls = false`` sends in clear text (``mode=insecure``), as the old sender did.
    """
    user = ""
    if username and password:
        user = f"{quote(username, safe='')}:{quote(password, safe='')}@"
    elif username:
        user = f"{quote(username, safe='')}@"
    host = str(cfg.smtp_host or "")
    netloc = f"[{host}]" if ":" in host else host
    query = urlencode(
        {
            "smtp": host,
            "mode": "starttls" if cfg.starttls else "insecure",
            "from": cfg.from_addr or "",
            "to": ",".join(cfg.to),
        }
    )
    scheme = "mailtos" if cfg.starttls else "mailto"
    return f"{scheme}://{user}{netloc}:{cfg.smtp_port}/?{query}"


def validate(url: str) -> None:
    """AppriseUrlError unless Apprise knows the scheme and accepts the URL."""
    import apprise

    from auditor.config.apprise_log import scrubbing

    scheme = scheme_of(url)
    if not scheme:
        raise AppriseUrlError("is not an Apprise URL (expected scheme://…, e.g. ntfy://host/topic)")
    with scrubbing(url_secrets(url)):
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        shown = scheme if re.fullmatch(r"[a-z0-9+.-]{1,20}", scheme) else "?"
        raise AppriseUrlError(
            f"Apprise does not accept this {shown}:// URL (unknown service, or a token or "
            "field missing); see https://appriseit.com/services/"
        )


def target_url(kind: str, url: str) -> str:
    """The Apprise URL a slack or apprise receiver's configured URL stands for."""
    return slack_url(url) if kind == "slack" else url


def url_secrets(url: str) -> list[str]:
    """Every part of an Apprise URL that may be a credential, longest first, for scrubbing.

    The whole URL, its userinfo, host (unless a DNS name or address), each path segment and
    query value: Apprise rebuilds URLs from these parts when it logs, so each is scrubbed.
    """
    out = {url, unquote(url)}
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return sorted(out, key=len, reverse=True)
    userinfo, _, hostport = netloc.rpartition("@")
    for piece in re.split(r"[:@]", userinfo):
        out.update({piece, unquote(piece)})
    host, _, port = hostport.partition(":") if hostport.count(":") == 1 else (hostport, "", "")
    if host and not public_name(host):  # a token in the host place (tgram://BOT_ID:SECRET/…)
        out.update({hostport, unquote(hostport), host, unquote(host), port, unquote(port)})
    elif port and not port.isdigit():
        out.update({port, unquote(port)})
    for seg in parts.path.split("/"):
        out.update({seg, unquote(seg)})
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key.lower() not in PLAIN_PARAMS:
            out.update(v for v in re.split(r"[,\s]", value))
    return sorted((s for s in out if len(s) >= 3), key=len, reverse=True)


def public_name(host: str) -> bool:
    """A DNS name (``hooks.slack.com``) or IP literal: where it goes, not a token."""
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.lower().split(".")
    return (
        len(labels) >= 2
        and all(re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", lb) for lb in labels)
        and labels[-1].isalpha()
    ) or host.lower() == "localhost"
