# syntax=docker/dockerfile:1
# Multi-stage: build a wheel, then a slim runtime image running as a non-root user.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY checks ./checks
COPY web ./web
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AUDITOR_CONFIG=/etc/auditor/config.toml \
    AUDITOR_DATABASE_URL=sqlite:////var/lib/auditor/auditor.db \
    AUDITOR_LISTEN=0.0.0.0:8080
RUN groupadd --system --gid 10001 auditor \
 && useradd --system --uid 10001 --gid auditor --home-dir /var/lib/auditor --shell /usr/sbin/nologin auditor \
 && mkdir -p /var/lib/auditor /etc/auditor \
 && chown auditor:auditor /var/lib/auditor
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config.example.toml /etc/auditor/config.example.toml
USER 10001:10001
WORKDIR /var/lib/auditor
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["auditor"]
CMD ["serve"]
