"""What to do about a finding, in plain language (by finding code, then by kind)."""

from __future__ import annotations

ADVICE: dict[str, str] = {
    "tls.expired": "Renew the certificate now and deploy it; clients already refuse it.",
    "tls.not_yet_valid": "Check the server clock and the certificate's start date.",
    "tls.expiring": "Renew the certificate before it expires (check that auto-renewal runs).",
    "tls.hostname_mismatch": "Issue a certificate whose SAN covers this host name.",
    "tls.self_signed": "Use a certificate from a trusted CA (or configure ca_file for an internal CA).",
    "tls.untrusted_root": "Serve a chain that ends at a trusted root, or set ca_file.",
    "tls.incomplete_chain": "Serve the intermediate certificates along with the leaf.",
    "tls.weak_key": "Re-issue with RSA ≥ 2048 bits or an ECDSA P-256 key.",
    "tls.weak_signature": "Re-issue with a SHA-256 (or better) signature.",
    "tls.validity_too_long": "Re-issue with a validity within the CA/B Forum limit.",
    "tls.legacy_protocol": "Disable TLS 1.0 and 1.1 on the server or load balancer.",
    "tls.handshake_failed": "Check that the port speaks TLS and the server is up.",
    "health.unreachable": "Check that the service is running and reachable from the auditor.",
    "health.timeout": "The endpoint did not answer in time: look at load and slow dependencies.",
    "health.status": "The endpoint answered with an unexpected status: read its logs.",
    "health.latency": "The endpoint is slow: check dependencies, pools and recent deploys.",
    "health.condition": "A condition on the response failed: compare the body with the check.",
    "health.body_too_large": "Keep health responses small (a short JSON status).",
    "health.too_many_redirects": "Point the check at the final URL or fix the redirect loop.",
    "health.invalid_response": "The endpoint must return a valid HTTP response (and JSON if expected).",
    "health.blocked_by_policy": "The address is refused by the auditor's network policy (allow_cidrs).",
    "headers.grade": "Add the missing security headers listed below to reach the minimum grade.",
    "headers.content-security-policy": "Send a Content-Security-Policy without 'unsafe-inline'.",
    "headers.strict-transport-security": "Send Strict-Transport-Security with max-age ≥ 6 months.",
    "headers.x-content-type-options": "Send X-Content-Type-Options: nosniff.",
    "headers.x-frame-options": "Send X-Frame-Options: DENY or CSP frame-ancestors.",
    "headers.cookies": "Mark cookies Secure, HttpOnly and SameSite.",
    "headers.referrer-policy": "Send a Referrer-Policy such as strict-origin-when-cross-origin.",
    "redirect.missing": "Redirect plain HTTP to HTTPS.",
    "redirect.not_to_https": "Make the HTTP redirect point at an https:// URL.",
    "redirect.off_host": "Redirect to the same host first, then elsewhere if needed.",
    "redirect.not_permanent": "Use a permanent redirect (301 or 308).",
    "exposure.stack_trace": "Turn off detailed errors in production; return a generic error page.",
    "exposure.debug_page": "Disable the framework's debug mode in production.",
    "exposure.server_version": "Hide version numbers in Server / X-Powered-By headers.",
    "exposure.no_rate_limit": "Add rate limiting (429 with Retry-After) in front of the service.",
    "exposure.metrics_public": "Protect /metrics with a token or keep it on an internal port.",
    "exposure.metrics_missing": "Expose metrics so the service can be monitored.",
    "exposure.interactive_debugger": "Turn the Werkzeug debugger off now: it runs code for anyone.",
    "exposure.url_patterns": "Set DEBUG = False: the 404 page lists every URL pattern.",
    "exposure.api_docs": "Serve API docs only internally, or mark the service public_api = true.",
    "exposure.server_status": "Restrict server-status / server-info to trusted addresses.",
    "exposure.actuator": "Expose only health and info actuator endpoints, or use a private port.",
    "exposure.pprof": "Move net/http/pprof to a localhost-only listener.",
    "exposure.default_page": "Replace the web server's stock page with the application.",
    "exposure.framework_banner": "Drop the X-Powered-By header (Express: app.disable).",
    "migrations.pending": "Apply the pending migrations (or roll back the deploy).",
    "migrations.failed": "A migration failed: fix it and re-run before serving traffic.",
    "migrations.dirty": "The schema is marked dirty: repair it, then clear the flag.",
    "migrations.partial": "A migration was applied only partly: repair the schema by hand.",
    "migrations.ahead": "The database is ahead of the code: deploy the matching release.",
    "migrations.checksum_drift": "An applied migration was edited: restore the original file.",
    "migrations.lock_stuck": "Release the stale migration lock after checking nothing runs.",
    "migrations.table_missing": "The migration history table is missing: check the DSN and schema.",
    "migrations.unreachable": "The auditor cannot reach the database: check the DSN and network.",
    "backups.missing": "No backup found: check the backup job and its destination.",
    "backups.too_old": "The newest backup is too old: check the backup schedule.",
    "backups.too_small": "The backup is suspiciously small: inspect its contents.",
    "backups.shrunk": "The backup shrank sharply: check for data loss or a partial dump.",
    "backups.last_failed": "The last backup job failed: read its logs and re-run it.",
    "backups.late": "The backup job did not report in on time.",
    "backups.restore_untested": "Run a restore test and record it.",
    "backups.restore_too_old": "The last restore test is too old: run another.",
    "env.missing": "Set the required variable in the service's environment.",
    "env.empty": "Give the variable a real value.",
    "env.placeholder": "Replace the placeholder value (changeme, TODO…) with a real one.",
    "env.debug_enabled": "Turn debug mode off in production.",
    "env.weak_secret": "Use a long random secret (≥ 32 random bytes).",
    "env.default_credential": "Replace the default credential.",
    "env.unverifiable": "The auditor could not read this value: check the source.",
    "env.source_unreadable": "The auditor cannot read the environment source: check the path.",
    "attestation.missing": "Sign this checklist item with evidence once it is done.",
    "attestation.expired": "The sign-off expired: review again and sign a new attestation.",
    "evidence.missing": "Push the report from CI: auditor evidence push --service … --item … FILE.",
    "evidence.stale": "Re-run the job for the deployed version and push its report again.",
    "evidence.rule": "The report breaks the item's rules: fix the cause, re-run, push again.",
    "evidence.runbook_unreachable": "Publish the runbook where its URL answers.",
    "monitoring.not_scraped": "Add the service as a scrape target in Prometheus.",
    "monitoring.no_alert_rule": "Add an alerting rule that names the service's job.",
    "monitoring.no_route": "Route the service's alerts to a receiver that notifies someone.",
    "logging.too_few_lines": "Ship the service's logs to the log store.",
    "logging.unstructured": "Log JSON objects (level, timestamp, message, request id).",
}

BY_KIND = {
    "tls": "Fix the certificate or TLS configuration.",
    "headers": "Add or correct the security headers named in the finding.",
    "health": "Check the endpoint and the service behind it.",
    "exposure": "Remove the information leak named in the finding.",
    "migrations": "Bring the database schema to the expected migration.",
    "backups": "Check the backup job.",
    "env": "Fix the service's configuration.",
    "attestation": "Sign the checklist item with evidence.",
    "evidence": "Push a passing report for the deployed version from CI.",
    "monitoring": "Fix the service's scraping, alert rules or alert routing.",
    "logging": "Ship structured logs from the service to the log store.",
    "redirect": "Fix the HTTP to HTTPS redirect.",
}


#: what a "could not measure" code means for any kind (``<kind>.<error kind>``)
BY_ERROR = {
    "tls": (
        "A verifying client cannot connect: do what the finding says (trust a private CA "
        "with ca_file, fix the chain, renew or re-issue the certificate); the tls check has "
        "the details."
    ),
    "config": "The check's configuration is invalid: edit the check.",
    "timeout": "The service did not answer in time: look at load and slow dependencies.",
    "dns": "The host name does not resolve from the auditor: check the service URL and DNS.",
    "refused": "Check that the service is running and listening on this port.",
    "reset": "The connection broke: check the service and any proxy in front of it.",
    "unreachable": "Check that the service is running and reachable from the auditor.",
    "blocked_by_policy": "The address is refused by the auditor's network policy (allow_cidrs).",
    "internal": "The check crashed inside the auditor: report it with the message.",
}


def advice(code: str) -> str:
    if code in ADVICE:
        return ADVICE[code]
    kind, _, name = code.partition(".")
    if name in BY_ERROR:
        return BY_ERROR[name]
    return BY_KIND.get(kind, "")
