import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';

for (const { engine, skip } of engines) {
  describe(`smoke [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    before(async () => { t = await startApp(engine); });
    after(async () => { await t?.close(); });

    it('answers /healthz once the database is up', async () => {
      const r = await t.request({ method: 'GET', url: '/healthz' });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { status: 'ok' });
    });
  });
}
