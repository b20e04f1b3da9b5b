#!/bin/sh
# Runs a command with a throwaway PostgreSQL cluster (scripts/pg_test_cluster.sh): starts it,
# runs COMMAND with SURECONNECT_TEST_DB_URL (unit tests) and SURECONNECT_TEST_PG (end-to-end
# tests) set to its database's URL, then stops it and removes it, whatever the outcome.
# Exits with the command's status. Usage: with_pg.sh COMMAND [ARG ...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/sc_pg_XXXXXX")
trap '"$here/pg_test_cluster.sh" stop "$dir"' EXIT
trap 'exit 130' INT TERM
url=$("$here/pg_test_cluster.sh" start "$dir") || exit 1
SURECONNECT_TEST_DB_URL=$url SURECONNECT_TEST_PG=$url "$@"
