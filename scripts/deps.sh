#!/bin/sh
# Installs the Debian packages that the build and the tests need, when they are missing.
# As root it runs apt-get; otherwise it prints the command to run.
set -eu
PACKAGES="make gcc clang pkg-config libjansson-dev libsqlite3-dev sqlite3 libssl-dev libcriterion-dev"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "deps: missing packages; run as root:"
    echo "  apt-get update && apt-get install -y$missing"
    exit 1
fi
