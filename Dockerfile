# Build stage: make the wheel (it carries the routing table inside the package).
FROM python:3.12.8-slim-bookworm AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2.post1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
RUN python -m build --wheel --outdir /dist

# Runtime stage: the wheel and its dependencies only, no build tools, run as a non-root user.
FROM python:3.12.8-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    HEALTH_PORT=8080 \
    HEALTH_HOST=0.0.0.0 \
    DATA_DIR=/data
COPY --from=build /dist/*.whl /tmp/
COPY constraints.txt /tmp/
RUN pip install --no-cache-dir -c /tmp/constraints.txt /tmp/*.whl && rm /tmp/*.whl /tmp/constraints.txt \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin whohandles \
    && mkdir /data && chown 10001 /data
# What each server owns (settings, local help, statistics, pins) is a SQLite file here unless DATABASE_URL is set:
# keep it on a volume (docker run -v who-handles-data:/data ...).
VOLUME ["/data"]
USER 10001
WORKDIR /home/whohandles
EXPOSE 8080
# /healthz answers 200 only while the gateway connection is alive with a recent heartbeat ACK.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('HEALTH_PORT', '8080')}/healthz\", timeout=4).status != 200)"]
# DISCORD_TOKEN comes only from the environment at run time (docker run -e DISCORD_TOKEN=...).
ENTRYPOINT ["who-handles"]
CMD ["run"]
