// Without Redis, two instances over one database count together: the per-address sign-in rate
// and the e-mail limits are kept in the database's `counters` table, not per process (a limit
// per process is a limit times the number of instances), and the v1 refresh-token key is the
// database's too, so a refresh JWT issued by one instance refreshes at the other. Two cores
// over the same PostgreSQL database, or the same SQLite file; one manual clock.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engines } from '../helpers/engines.ts';
import { fastHasher, outboxMailerForTests } from '../helpers/app.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { createCore, ManualClock, OPERATOR, type Core, type RequestOrigin } from '../../src/core/index.ts';
import { databaseCounters } from '../../src/store/counters.ts';
import { obtainPair, verifyPassword } from './support.ts';

const PUBLIC_URL = 'http://latchkey.test';
const PASSWORD = 'shared-counters-pass-1';

for (const { engine, skip } of engines) {
  describe(`counters shared through the database [${engine.name}]`, { skip }, () => {
    const clock = new ManualClock(Date.now());
    let origin: RequestOrigin = { ip: '192.0.2.1', requestId: 'r' };
    let stores: Store[] = [];
    let A: Core;
    let B: Core;
    let drop: () => Promise<void> = async () => {};

    before(async () => {
      let url: string;
      if (engine.name === 'sqlite') {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-counters-'));
        url = `sqlite:${path.join(dir, 'db.sqlite')}`;
        drop = async () => fs.rmSync(dir, { recursive: true, force: true });
      } else {
        const db = await engine.create();
        url = db.url;
        drop = db.drop;
      }
      stores = [openStore(url), openStore(url)];
      [A, B] = stores.map((store) => createCore({ store, publicUrl: PUBLIC_URL, clock, hasher: fastHasher(), origin: () => origin, mailer: outboxMailerForTests() })) as [Core, Core];
      await A.prepare();
      await B.prepare();
      await A.users.create(OPERATOR, { username: 'pat', password: PASSWORD, email: 'pat@example.com' });
    });
    after(async () => {
      for (const s of stores) await s.close();
      await drop();
    });

    it('the counters count, expire and answer many keys at once', async () => {
      const c = databaseCounters(stores[0]!, () => clock.now());
      const other = databaseCounters(stores[1]!, () => clock.now());
      assert.deepEqual(await c.incr('test:a', 10), { count: 1, ttl: 10 });
      assert.deepEqual(await other.incr('test:a', 10), { count: 2, ttl: 10 });
      await c.incr('test:b', 10);
      assert.deepEqual(await other.counts(['test:a', 'test:none', 'test:b']), [2, 0, 1]);
      clock.advance(10_000);
      assert.deepEqual(await c.counts(['test:a', 'test:b']), [0, 0], 'expired');
      assert.deepEqual(await other.incr('test:a', 10), { count: 1, ttl: 10 }, 'an expired counter starts again');
    });

    it('reset e-mails: 3 asked on A and 2 on B use up the address\'s 5; the 6th is refused on both', async () => {
      clock.advance(3_600_000);
      for (const core of [A, B, A, B, A]) await core.passwordReset.request(undefined, 'pat@example.com');
      for (const core of [A, B]) await assert.rejects(core.passwordReset.request(undefined, 'pat@example.com'), { code: 'RATE_LIMITED' });
      await A.outbox.idle();
      await B.outbox.idle();
    });

    it('failed sign-ins from one address: 5 on A and 5 on B use up its 10 a minute', async () => {
      clock.advance(3_600_000);
      origin = { ip: '192.0.2.77', requestId: 'r' };
      for (let i = 0; i < 10; i++) {
        await assert.rejects(verifyPassword(i % 2 ? B : A, undefined, `nobody-${i}`, 'wrong-password-1'), { code: 'INVALID_CREDENTIALS' });
      }
      for (const core of [A, B]) await assert.rejects(verifyPassword(core, undefined, 'pat', PASSWORD), { code: 'RATE_LIMITED' });
      clock.advance(60_000);
      await verifyPassword(B, undefined, 'pat', PASSWORD);
    });

    it('a refresh JWT issued on A refreshes on B (one key, in the database)', async () => {
      const pair = await obtainPair(A, undefined, 'pat', PASSWORD, { refreshFormat: 'jwt' });
      assert.equal(pair.refresh.split('.').length, 3);
      const next = await B.tokenPairs.refresh(pair.refresh, { refreshFormat: 'jwt' });
      await assert.rejects(A.tokenPairs.refresh(pair.refresh, { refreshFormat: 'jwt' }), { code: 'TOKEN_INVALID' }, 'spent on B, refused on A');
      await assert.rejects(B.tokenPairs.refresh(next.refresh), { code: 'TOKEN_INVALID' }, 'and the family revoked');
    });
  });
}
