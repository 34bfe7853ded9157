# gonogo: the HTTP service in a container, installed from the same lock file as bootstrap.py.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTENSOR_FLAGS=cxx= \
    OPENBLAS_NUM_THREADS=1 \
    GONOGO_HOST=0.0.0.0 \
    GONOGO_PORT=8000 \
    GONOGO_WORKERS=1 \
    GONOGO_DATA_DIR=/data

WORKDIR /app

# The PDF report (WeasyPrint) draws text with Pango and HarfBuzz, and needs a font: Debian's
# packages, at the versions of the base image's release (its security updates included).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.lock ./
RUN python -m pip install --no-input --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY designs ./designs
COPY service ./service
RUN python -m pip install --no-input --no-deps --no-build-isolation . \
    && useradd --create-home --uid 10001 gonogo \
    && mkdir -p /data \
    && chown 10001 /data

# The job store (SQLite): mount a volume here so jobs outlive the container.
VOLUME ["/data"]

USER 10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('GONOGO_PORT', '8000') + '/health', timeout=4)"]

CMD ["gonogo", "serve"]
