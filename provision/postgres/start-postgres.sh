#!/bin/sh
# Start the app's PostgreSQL. On an empty volume: a new cluster whose superuser `app` owns the
# database `app`. On every start: `app`'s password is set to POSTGRES_PASSWORD, the one
# dockerhello keeps for the app, so that the releases' DATABASE_URL always opens it.
set -eu

: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}"
quoted=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --pgdata="$PGDATA" --username=app --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    # Releases connect over the app's network; nothing else reaches it (no published port).
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo 'CREATE DATABASE app OWNER app;' | postgres --single -D "$PGDATA" postgres >/dev/null
    echo "start-postgres: created the database app"
fi
echo "ALTER ROLE app PASSWORD '$quoted';" | postgres --single -D "$PGDATA" postgres >/dev/null

exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
