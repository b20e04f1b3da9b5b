#!/bin/sh
# Installs the Debian packages that the build and the tests need when they are missing
# (libpq for the PostgreSQL store; PostgreSQL 15's server, whose initdb/pg_ctl the tests use
# to start throwaway clusters of their own; chromium: the browser tests of the web pages
# drive it headless through playwright-core; libclang-rt-N-dev: libFuzzer for the fuzz
# targets),
# then the npm packages of the end-to-end tests (package-lock.json, `npm ci`) when
# node_modules is missing or older than the lock file. As root it runs apt-get; otherwise
# it prints the command to run.
set -eu
PACKAGES="make gcc clang pkg-config libjansson-dev libsqlite3-dev sqlite3 libssl-dev libcriterion-dev libmicrohttpd-dev libcurl4-openssl-dev libpq-dev postgresql-15 nodejs chromium"
# clang's libFuzzer and sanitizer runtimes (the fuzz targets, fuzz/) are in libclang-rt-N-dev,
# which clang-N only recommends; N is the version Debian's clang package depends on.
clang_major=$(apt-cache depends clang 2>/dev/null | sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
PACKAGES="$PACKAGES libclang-rt-${clang_major:-14}-dev"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# npm ships inside NodeSource's nodejs package and separately in Debian's: ask for Debian's
# only when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
npm_deps() {
    cd "$(dirname "$0")/.."
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        echo "deps: npm ci (test tooling)"
        npm ci --no-audit --no-fund
    else
        echo "deps: npm packages present"
    fi
}
if [ -z "$missing" ]; then
    echo "deps: all packages present"
    npm_deps
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
    npm_deps
else
    echo "deps: missing packages; run as root:"
    echo "  apt-get update && apt-get install -y$missing"
    exit 1
fi
