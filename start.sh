#!/bin/sh
# Container entry point: Gunicorn serving the Django app, as PID 1 (through exec) so that it
# gets Docker's SIGTERM directly and stops gracefully.
set -eu

# Gunicorn's advice is 2 x cores + 1 workers; WEB_CONCURRENCY overrides it. nproc follows
# the container's cpuset (--cpuset-cpus) but not a --cpus quota: set WEB_CONCURRENCY then.
workers="${WEB_CONCURRENCY:-$((2 * $(nproc) + 1))}"

echo "Starting Gunicorn with ${workers} workers"
# --worker-tmp-dir /dev/shm: the worker heartbeat file must live on tmpfs, not on the
#   overlay filesystem where fchmod can stall a worker.
# --graceful-timeout 25: in-flight requests finish before the 30 s stop timeout that
#   dockerhello gives the container kills it.
# --no-control-socket: the control socket wants a writable $HOME, which the unprivileged
#   container user does not have.
exec gunicorn helloworld.wsgi:application \
    --bind 0.0.0.0:8000 \
    --workers "${workers}" \
    --access-logfile - \
    --worker-tmp-dir /dev/shm \
    --graceful-timeout 25 \
    --no-control-socket \
    "$@"
