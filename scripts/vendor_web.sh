#!/bin/sh
# vendor_web.sh -- copies the browser files of the npm packages the web pages use from
# node_modules (installed exactly as package-lock.json locks them: make deps / npm ci) into
# web/vendor/, with a note of each package's version and licence, so the pages need no
# build step and load nothing from elsewhere (docs/WEB.md). test/e2e/vendor.test.mjs fails
# when a vendored file differs from the locked package's file (a bump without re-vendoring).
# Usage: scripts/vendor_web.sh   (from any directory; make vendor)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/web/vendor"
pkg="$here/node_modules/@twilio/voice-sdk"

if [ ! -f "$pkg/package.json" ]; then
    echo "vendor_web.sh: $pkg is missing: run npm ci first" >&2
    exit 1
fi
version=$(node -p "require('$pkg/package.json').version")
locked=$(node -p "require('$here/package-lock.json').packages['node_modules/@twilio/voice-sdk'].version")
if [ "$version" != "$locked" ]; then
    echo "vendor_web.sh: installed @twilio/voice-sdk $version, package-lock.json locks $locked: run npm ci" >&2
    exit 1
fi
licence=$(node -p "require('$pkg/package.json').license")

mkdir -p "$out"
cp "$pkg/dist/twilio.min.js" "$out/twilio.min.js"
cp "$pkg/LICENSE.md" "$out/twilio-voice-sdk.LICENSE.md"
cat > "$out/README.md" <<NOTE
# Vendored browser files (written by scripts/vendor_web.sh; do not edit)

| file | npm package | version | licence | source file |
| --- | --- | --- | --- | --- |
| \`twilio.min.js\` | \`@twilio/voice-sdk\` | $version | $licence (\`twilio-voice-sdk.LICENSE.md\`) | \`dist/twilio.min.js\` |

The version is the one locked in package-lock.json. To update: \`npm install --save-dev
--save-exact @twilio/voice-sdk@NEW\`, then \`make vendor\` and commit web/vendor/.
NOTE
echo "vendored @twilio/voice-sdk $version ($licence) into web/vendor/"
