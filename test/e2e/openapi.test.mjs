// openapi.test.mjs -- docs/openapi.yaml is a valid OpenAPI 3 document (checked against the
// OpenAPI JSON schema by @seriousme/openapi-schema-validator, installed by `make deps`) and
// every operation it lists exists on the real server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWithFixture } from './harness.mjs';

const SPEC = resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/openapi.yaml');

test('docs/openapi.yaml is valid OpenAPI and every operation exists', async (t) => {
  const { Validator } = await import('@seriousme/openapi-schema-validator');
  const YAML = await import('yaml');
  const spec = YAML.parse(readFileSync(SPEC, 'utf8'));
  const validator = new Validator();
  const res = await validator.validate(spec);
  assert.ok(res.valid, JSON.stringify(res.errors, null, 1));
  assert.equal(validator.version, '3.0');
  assert.match(spec.openapi, /^3\./);
  const srv = await startWithFixture(t);
  let operations = 0;
  for (const [path, item] of Object.entries(spec.paths)) {
    const concrete = path.replace('{campaign}', 'prio').replace('{id}', path.startsWith('/v1/callbacks') ? '1' : path.startsWith('/v1/campaigns') ? 'prio' : 'a1');
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      if (!item[method]) continue;
      operations++;
      if (item[method].responses?.['200']?.content?.['text/event-stream']) {
        // An event stream never ends: check that it opens, then close it.
        const ac = new AbortController();
        const res = await fetch(srv.url + concrete, { headers: { authorization: `Bearer ${srv.key}` }, signal: ac.signal });
        if (res.status === 200) {
          assert.match(res.headers.get('content-type'), /^text\/event-stream/);
          ac.abort();
        } else {
          // The agent may have been deleted by an earlier operation: a known route's 404.
          const err = (await res.json()).error;
          assert.equal(res.status, 404, `${method} ${path}`);
          assert.notEqual(err.message, 'no such endpoint', `${method} ${path}`);
        }
        continue;
      }
      // An empty JSON body: a route that exists answers anything but "no such endpoint"
      // or "method not allowed" (most answer 400/404/422 for the empty body or id).
      const r = await srv.request(method.toUpperCase(), concrete, method === 'get' || method === 'delete' ? {} : { body: {} });
      if (item[method].responses?.['200']?.content?.['text/html']) {
        assert.equal(r.status, 200, `${method} ${path}`); // a web page
        assert.match(r.headers.get('content-type'), /^text\/html/);
        continue;
      }
      const code = r.json && r.json.error ? r.json.error.code : null;
      assert.notEqual(code, 'method_not_allowed', `${method} ${path}`);
      assert.ok(!(r.status === 404 && r.json.error.message === 'no such endpoint'), `${method} ${path}`);
    }
  }
  assert.equal(operations, 32);
});
