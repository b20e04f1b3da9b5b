// vendor.test.mjs -- the npm files vendored into web/vendor/ by scripts/vendor_web.sh are
// byte-identical to the files of the versions package-lock.json locks (installed by npm ci),
// so bumping a package without re-vendoring (make vendor) fails here (docs/WEB.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p) => readFileSync(resolve(root, p));
const sha = (b) => createHash('sha256').update(b).digest('hex');

test('web/vendor/twilio.min.js is the locked @twilio/voice-sdk dist/twilio.min.js', () => {
  const lock = JSON.parse(read('package-lock.json'));
  const pkg = JSON.parse(read('package.json'));
  const locked = lock.packages['node_modules/@twilio/voice-sdk'];
  assert.ok(locked, '@twilio/voice-sdk is locked');
  assert.equal(pkg.devDependencies['@twilio/voice-sdk'], locked.version, 'an exact version in package.json');
  const installed = JSON.parse(read('node_modules/@twilio/voice-sdk/package.json'));
  assert.equal(installed.version, locked.version, 'node_modules holds the locked version (npm ci)');

  const vendored = read('web/vendor/twilio.min.js');
  const original = read('node_modules/@twilio/voice-sdk/dist/twilio.min.js');
  assert.equal(sha(vendored), sha(original), 'byte-identical: run make vendor after changing the version');
  assert.ok(read('web/vendor/twilio-voice-sdk.LICENSE.md').equals(read('node_modules/@twilio/voice-sdk/LICENSE.md')));
  const note = read('web/vendor/README.md').toString();
  assert.ok(note.includes(`| \`@twilio/voice-sdk\` | ${locked.version} | ${installed.license}`), note);
});
