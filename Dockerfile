# Production image for the Hello World Django app, served by Gunicorn.
# Builds with the classic builder (the Docker SDK has no BuildKit) and on Engine 19.03
# (boot2docker VMs): no RUN --mount, no heredocs, no HEALTHCHECK --start-interval.

# Any Debian-like image with python3 and its venv module: the official slim image by
# default, or one made without a registry by `dockerhello base build`.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app

# Dependencies first: this layer is reused until requirements.txt changes, so a change to
# the code rebuilds in seconds. pip itself leaves in the same layer: the app does not run it,
# and it is 12 MB of the image.
COPY requirements.txt .
RUN python3 -m venv /opt/venv \
    && pip install --no-cache-dir -r requirements.txt \
    && pip uninstall --yes --quiet pip

# How the image runs, before the code: a change to the code then rebuilds only the COPY
# steps below, where the classic builder spends a container and a commit (about 0.1 s) on
# each step after a changed one, metadata steps too. USER does not change who owns what
# COPY writes (root, unless --chown). A fixed unprivileged UID that needs no passwd entry,
# so it works on any base image.
USER 10001:10001

EXPOSE 8000

# Exec form and the standard library's socket only: no curl needed in the image, and Python
# started without site-packages (-I -S) imports nothing else, so the check answers in about
# 20 ms of its own where urllib took 70 (Docker runs it every 5 s; a deploy waits on it once).
# The Host header is one that ALLOWED_HOSTS accepts by default.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-I", "-S", "-c", "import socket\ns = socket.create_connection(('127.0.0.1', 8000), 2)\ns.sendall(b'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n')\nraise SystemExit(s.makefile('rb').readline().split()[1:2] != [b'200'])"]

STOPSIGNAL SIGTERM
CMD ["./start.sh"]

# The code is owned by root and only readable by the app's user: the process serving
# requests cannot rewrite what it runs.
COPY manage.py start.sh ./
COPY helloworld ./helloworld
