# backrank in a container: the CLI as the entry point (`docker run IMAGE refresh ...`).
# compose.yaml runs it as a Redis-coordinated scheduler and N crawl workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md scrapy.cfg ./
COPY backrank ./backrank
COPY spiders ./spiders
COPY pipelines ./pipelines
COPY reports ./reports
COPY templates ./templates
# Editable: the site templates live beside the packages (reports/render.py finds them
# there), not inside one, so a plain `pip install .` would leave them behind.
RUN pip install --no-cache-dir -e . \
    && useradd --create-home --uid 1000 backrank \
    && mkdir -p /srv/backrank \
    && chown backrank /srv/backrank

USER backrank
WORKDIR /srv/backrank
ENTRYPOINT ["backrank"]
CMD ["--help"]
