#!/bin/sh
# One-shot job of docker-compose.yml (service temporal-schema, image temporalio/admin-tools).
# Creates Temporal's two PostgreSQL databases when they are missing and brings both
# schemas up to the version this admin-tools image ships, as Temporal's own compose
# reference does. Every step is idempotent (an existing database is kept, a schema
# already at the newest version is left alone), so the job runs again on each `up`.
# After an upgrade of the temporalio/server image, the admin-tools image of the same
# version migrates the schemas here before the new server starts.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
DB_PORT=${DB_PORT:-5432}
DBNAME=${DBNAME:-temporal}
VISIBILITY_DBNAME=${VISIBILITY_DBNAME:-temporal_visibility}
SCHEMA_DIR=${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
TRIES=${SETUP_TRIES:-60}
PAUSE=${SETUP_PAUSE_SECONDS:-2}

# PostgreSQL is healthy before this job starts; this only covers a slow first accept.
try=1
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
  if [ "$try" -ge "$TRIES" ]; then
    echo "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT did not accept connections" >&2
    exit 1
  fi
  try=$((try + 1))
  sleep "$PAUSE"
done

sql_tool() {
  # The password comes from SQL_PASSWORD in the environment, never from the command line.
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$DB_PORT" --user "$POSTGRES_USER" "$@"
}

for pair in "$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"; do
  db=${pair%%:*}
  schema=${pair#*:}
  echo "database $db: create if missing, then update the $schema schema"
  sql_tool --database "$db" create
  sql_tool --database "$db" setup-schema -v 0.0
  sql_tool --database "$db" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo "Temporal schemas are up to date"
