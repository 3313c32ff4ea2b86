#!/bin/sh
# One-shot job of docker-compose.yml (service temporal-search-attributes, image
# temporalio/admin-tools). Registers the custom search attributes the workflows set,
# SEARCH_ATTRIBUTES="Name=Type ...", in NAMESPACE (PostgreSQL visibility keeps them
# per namespace).
#
# For each attribute, until the server lists it with the wanted type:
#   - listed with the wanted type: done (so re-runs, and a race with anyone else
#     registering the same attribute, succeed);
#   - listed with another type: an error, reported and fatal at once (workflows
#     setting it would fail; remove it or rename ours, retrying cannot help);
#   - not listed yet, or the server not answering: create it and look again,
#     SETUP_PAUSE_SECONDS apart, at most SETUP_TRIES times.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${SEARCH_ATTRIBUTES:?}"
TRIES=${SETUP_TRIES:-60}
PAUSE=${SETUP_PAUSE_SECONDS:-2}

# The type the server lists for attribute $1 (Keyword, KeywordList, ...), or nothing.
registered_type() {
  temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" 2>/dev/null |
    awk -v name="$1" '$1 == name { print $2; exit }'
}

for attribute in $SEARCH_ATTRIBUTES; do
  name=${attribute%%=*}
  type=${attribute#*=}
  try=1
  output=''
  while :; do
    current=$(registered_type "$name")
    if [ "$current" = "$type" ]; then
      echo "search attribute $name ($type) is registered"
      break
    fi
    if [ -n "$current" ]; then
      echo "search attribute $name already exists with type $current, but the workflows set it as $type" >&2
      exit 1
    fi
    if [ "$try" -gt "$TRIES" ]; then
      echo "could not register search attribute $name ($type) after $TRIES tries:" >&2
      echo "$output" >&2
      exit 1
    fi
    # The first try goes at once; later ones wait, for the server or for its cache.
    [ "$try" -eq 1 ] || sleep "$PAUSE"
    try=$((try + 1))
    # Success is not trusted alone: the next look at the list must show our type.
    if ! output=$(temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --name "$name" --type "$type" 2>&1); then
      case $output in
        *"different type"*)
          echo "$output" >&2
          exit 1
          ;;
      esac
    fi
  done
done
