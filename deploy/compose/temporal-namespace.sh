#!/bin/sh
# One-shot job of docker-compose.yml (service temporal-namespace, image temporalio/admin-tools).
# Waits until the Temporal server answers, then creates NAMESPACE with RETENTION, or,
# when it already exists, sets its retention to RETENTION, so the compose file stays
# the one place that says how long closed workflows are kept. Retries every failure
# (the server may still be starting, or a new namespace not yet be in its cache) up
# to SETUP_TRIES times, SETUP_PAUSE_SECONDS apart.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${RETENTION:?}"
TRIES=${SETUP_TRIES:-60}
PAUSE=${SETUP_PAUSE_SECONDS:-2}

try=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if [ "$try" -ge "$TRIES" ]; then
    echo "the Temporal server at $TEMPORAL_ADDRESS did not become healthy" >&2
    temporal operator cluster health --address "$TEMPORAL_ADDRESS" >&2 || true
    exit 1
  fi
  try=$((try + 1))
  sleep "$PAUSE"
done

try=1
while :; do
  if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
    if output=$(temporal operator namespace update --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION" 2>&1); then
      echo "namespace $NAMESPACE exists; retention set to $RETENTION"
      exit 0
    fi
  elif output=$(temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION" 2>&1); then
    echo "namespace $NAMESPACE created with retention $RETENTION"
    exit 0
  fi
  if [ "$try" -ge "$TRIES" ]; then
    echo "could not create or update namespace $NAMESPACE after $TRIES tries:" >&2
    echo "$output" >&2
    exit 1
  fi
  try=$((try + 1))
  sleep "$PAUSE"
done
