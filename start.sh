#!/bin/sh
# Container entry point: Gunicorn serving the Django app, as PID 1 (through exec) so that it
# gets Docker's SIGTERM directly and stops gracefully.
set -eu

# On a Swarm the key is a secret, a file under /run/secrets, never a variable in the service's
# spec: SECRET_KEY_FILE names the file, and the key enters the app's environment only here.
if [ -n "${SECRET_KEY_FILE:-}" ]; then
    SECRET_KEY="$(cat "${SECRET_KEY_FILE}")"
    export SECRET_KEY
fi

# One worker process per CPU, each with a few threads (measured by bench/throughput.py: more
# processes only contend for the same CPUs; a thread waits on I/O while another runs).
# nproc follows the container's cpuset (--cpuset-cpus) but not a --cpus quota; dockerhello
# sets WEB_CONCURRENCY from --cpus, and WEB_CONCURRENCY / GUNICORN_THREADS override both.
workers="${WEB_CONCURRENCY:-$(nproc)}"
threads="${GUNICORN_THREADS:-4}"

echo "Starting Gunicorn with ${workers} workers of ${threads} threads"
# --worker-class gthread: keeps the proxy's connections open between requests (the default
#   sync worker closes each one), and --keep-alive 75 outlasts the proxy's 60 s idle limit,
#   so that it is always the proxy that closes an idle connection, never mid-request.
# No access log: the proxy writes one line per request, and the container's own health
#   checks, which go straight to Gunicorn, are left out of it.
# --worker-tmp-dir /dev/shm: the worker heartbeat file must live on tmpfs, not on the
#   overlay filesystem where fchmod can stall a worker.
# --graceful-timeout 25: in-flight requests finish before the 30 s stop timeout that
#   dockerhello gives the container kills it.
# --no-control-socket: the control socket wants a writable $HOME, which the unprivileged
#   container user does not have.
exec gunicorn helloworld.wsgi:application \
    --bind 0.0.0.0:8000 \
    --worker-class gthread \
    --workers "${workers}" \
    --threads "${threads}" \
    --keep-alive 75 \
    --worker-tmp-dir /dev/shm \
    --graceful-timeout 25 \
    --no-control-socket \
    "$@"
