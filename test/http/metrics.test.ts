// GET /metrics as a Prometheus scraper reads it: the text format, requests counted by route
// pattern (never by concrete path: a label per user id would grow without end), sign-ins by
// outcome, and the route described in the OpenAPI document like every other.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';

/** The value of one sample line, e.g. `latchkey_sign_ins_total{outcome="failed"}`; 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

for (const { engine, skip } of engines) {
  describe(`metrics [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    before(async () => { t = await startApp(engine); });
    after(async () => { await t?.close(); });

    const scrape = async () => {
      const r = await t.request({ method: 'GET', url: '/metrics' });
      assert.equal(r.statusCode, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      return r.body;
    };

    it('counts sign-ins by outcome and requests by route pattern and status', async () => {
      const before = await scrape();
      const u = await t.createUser({ username: 'metered', password: 'a-long-password-1' });
      const { headers } = await t.login('metered', 'a-long-password-1');
      const bad = await t.request({ method: 'POST', url: '/api/token', payload: { username: 'metered', password: 'wrong-password-1' } });
      assert.equal(bad.statusCode, 401);
      for (let i = 0; i < 3; i++) assert.equal((await t.request({ method: 'GET', url: `/api/users/${u.id}/`, headers })).statusCode, 200);
      const after = await scrape();

      const ok = 'latchkey_sign_ins_total{outcome="succeeded"}', failed = 'latchkey_sign_ins_total{outcome="failed"}';
      assert.equal(sample(after, ok) - sample(before, ok), 1);
      assert.equal(sample(after, failed) - sample(before, failed), 1);
      const reads = 'latchkey_http_requests_total{method="GET",route="/api/users/:id/",status="200"}';
      assert.equal(sample(after, reads) - sample(before, reads), 3);
      assert.equal(sample(after, 'latchkey_http_requests_total{method="POST",route="/api/token",status="401"}'), 1);
      assert.ok(!after.includes(u.id), 'no label carries a user id');
      assert.match(after, /^latchkey_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/users\/:id\/"\} \d+$/m);
      assert.match(after, /^latchkey_password_hash_queue_length 0$/m);
      assert.match(after, /^latchkey_process_resident_memory_bytes \d+/m);
    });

    it('is described in the OpenAPI document', async () => {
      const doc = (await t.request({ method: 'GET', url: '/api/schema' })).json();
      const op = doc.paths['/metrics']?.get;
      assert.ok(op, '/metrics is in /api/schema');
      assert.deepEqual(Object.keys(op.responses['200'].content), ['text/plain']);
    });
  });
}
