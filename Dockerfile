# fieldrelay's image: the service and its commands, as a non-root user, from the locked dependencies.
# docker build -t fieldrelay .   (compose.yaml builds it too; docs/production.md)
ARG PYTHON_IMAGE=python:3.11-slim-trixie

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/fieldrelay
# The lock file first, so a code change reuses the dependency layer; every file is checked against its sha256.
COPY requirements/main.txt requirements/main.txt
RUN /opt/fieldrelay/bin/pip install --require-hashes -r requirements/main.txt
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN /opt/fieldrelay/bin/pip install --no-deps .

FROM ${PYTHON_IMAGE}
# postgresql-client: pg_dump and pg_restore for `fieldrelay db backup` / `restore` (Debian trixie's 17 reads a 16
# server); tzdata: the shop's and customers' time zones. Versions follow the base image's Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /srv/fieldrelay --create-home fieldrelay
COPY --from=build /opt/fieldrelay /opt/fieldrelay
ENV PATH=/opt/fieldrelay/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# fieldrelay.yaml is read from here (compose mounts the shop's file); a SQLite database would be written here too.
WORKDIR /srv/fieldrelay
USER 10001:10001
EXPOSE 8000
# /readyz answers 200 once the database does (503 when it cannot be reached); python is there, curl is not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["fieldrelay", "serve", "--host", "0.0.0.0", "--port", "8000"]
