# syntax=docker/dockerfile:1
# Multi-stage: build a wheel, then a slim runtime image running as a non-root user.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY checks ./checks
COPY web ./web
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Configuration: mount yours at /etc/auditor/config.toml (the working directory's config.toml,
# read when present); without one, `serve` starts with no services (add them on the dashboard
# or through the API). The database lives in the /var/lib/auditor volume.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AUDITOR_DATABASE_URL=sqlite:////var/lib/auditor/auditor.db \
    AUDITOR_LISTEN=0.0.0.0:8080
RUN groupadd --system --gid 10001 auditor \
 && useradd --system --uid 10001 --gid auditor --home-dir /var/lib/auditor --shell /usr/sbin/nologin auditor \
 && mkdir -p /var/lib/auditor /etc/auditor \
 && chown auditor:auditor /var/lib/auditor
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config.example.toml /etc/auditor/config.example.toml
VOLUME ["/var/lib/auditor"]
USER 10001:10001
WORKDIR /etc/auditor
EXPOSE 8080
# /healthz at the configured listen port, over HTTPS when tls_cert is set (same config and env)
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["auditor", "healthcheck", "--timeout", "5"]
ENTRYPOINT ["auditor"]
CMD ["serve"]
