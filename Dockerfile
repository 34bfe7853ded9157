# gonogo: the HTTP service in a container, installed from the same lock file as bootstrap.py.
#
# Two stages: `build` makes a virtualenv from requirements.lock (hash-checked) with gonogo installed
# in it, and compiles the PyMC models into /opt/gonogo/compiled-models; the final stage has the base
# image's Python, the Debian libraries the PDF report needs, that virtualenv and those compiled
# models, and nothing else (no pip, no compiler, no build files).
FROM python:3.12-slim AS base

# NUMBA_CPU_NAME=generic: the models' machine code is compiled for any CPU of the architecture, not
# the build machine's, so that the code compiled when the image is built is used (its cache key names
# the CPU target) on whichever machine runs the image: the same machine code everywhere. (Measured:
# no slower than code for the host's CPU.)
# PyTensor compiles no C (there is no compiler); its cache, Matplotlib's and fontconfig's are in /tmp.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH \
    NUMBA_CPU_NAME=generic \
    PYTENSOR_FLAGS=cxx=,base_compiledir=/tmp/pytensor \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/cache \
    OPENBLAS_NUM_THREADS=1 \
    GONOGO_HOST=0.0.0.0 \
    GONOGO_PORT=8000 \
    GONOGO_WORKERS=1 \
    GONOGO_DATA_DIR=/data

# The PDF report (WeasyPrint) draws text with Pango and HarfBuzz, and needs a font: Debian's
# packages, at the versions of the base image's release (its security updates included).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin


FROM base AS build

# binutils: `strip`, used below on the libraries' shared objects (in this stage only).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The dependencies; then, to make the image smaller without changing any code that runs, the tests
# that numpy, scipy, pandas and pyarrow ship (never imported) and the shared objects' symbol tables
# (strip --strip-unneeded keeps what the dynamic linker needs). One layer, rebuilt only when the lock
# file changes.
COPY requirements.lock ./
RUN python3 -m venv /opt/venv \
    && python -m pip install --no-input --require-hashes -r requirements.lock \
    && find /opt/venv/lib -depth -type d -name tests \
        \( -path '*/site-packages/scipy/*' -o -path '*/site-packages/pandas/*' -o -path '*/site-packages/numpy/*' -o -path '*/site-packages/pyarrow/*' \) \
        -exec rm -rf {} + \
    && find /opt/venv/lib -type f \( -name '*.so' -o -name '*.so.*' \) -exec strip --strip-unneeded {} +

COPY pyproject.toml README.md ./
COPY designs ./designs
COPY service ./service
# The project; pip removed; the bytecode of only the modules the service imports: all bytecode is
# removed, then written again by importing every module of gonogo and running the warm-up (the root
# filesystem may be read-only at run time, so it is written now). The same imports and warm-up check
# that every stripped library still loads. The warm-up compiles the PyMC models here, once: a
# container's compute workers load them instead.
RUN python -m pip install --no-input --no-deps --no-build-isolation . \
    && python -m pip uninstall --no-input --yes pip \
    && find /opt/venv -depth -type d -name __pycache__ -exec rm -rf {} + \
    && PYTHONDONTWRITEBYTECODE='' python -c "import importlib, pkgutil, designs, service; from pathlib import Path; from designs.engines import pymc; [importlib.import_module(m.name) for p in (designs, service) for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.') if not m.name.endswith('__main__')]; import pyarrow.dataset, pyarrow.parquet, psycopg; pymc.warm_up(cache_dir=Path('/opt/gonogo/compiled-models'))"


FROM base

RUN useradd --create-home --uid 10001 gonogo \
    && mkdir -p /data \
    && chown 10001 /data

COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/gonogo /opt/gonogo
# Copies the compiled models into /data/compiled-models where the volume lacks them, then runs the command.
COPY scripts/docker-entrypoint.sh /usr/local/bin/gonogo-entrypoint

# The job store and registry (SQLite) and the compiled models: mount a volume here so that they
# outlive the container. The root filesystem may be read-only (`--read-only`): the service writes
# only to /data and /tmp.
VOLUME ["/data"]

USER 10001
WORKDIR /data
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('GONOGO_PORT', '8000') + '/health', timeout=4)"]

ENTRYPOINT ["/usr/local/bin/gonogo-entrypoint"]
CMD ["gonogo", "serve"]
