// kill -9 in the middle of a burst of writes, then a restart on the same database: every write
// that was answered 2xx is there in full, and nothing exists half-made. Real `latchkey serve`
// processes over HTTP; SQLite in a file and PostgreSQL (fresh database on TEST_DATABASE_URL).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { IN_CI, TEST_PG_URL, freshPgDatabase, startServer, type Server } from '../helpers/processes.ts';

const ADMIN = 'root';
const ADMIN_PASSWORD = 'kill-nine-admin-pw-7f3a';
const GROUPS = 4;
const USERS = 160;
const WORKERS = 12;
/** The burst is cut after this many users were created (answered 201). */
const KILL_AFTER = 30;

type Outcome = 'ok' | 'refused' | 'no-answer';

interface UserOp {
  username: string;
  password: string;
  fields: { email: string; first_name: string; last_name: string };
  created: Outcome;
  id?: string;
  /** The membership request, when the creation was answered. */
  member?: { group: string; outcome: Outcome };
  /** A rename of first_name after the creation. */
  rename?: { to: string; outcome: Outcome };
  sentBeforeKill: boolean[];
  failedAfterSendBeforeKill: number;
}

const engineCases = [
  { name: 'sqlite', skip: false as string | false },
  {
    name: 'postgres',
    skip: TEST_PG_URL ? false : IN_CI ? false : 'TEST_DATABASE_URL is not set: the PostgreSQL half is skipped',
  },
];

for (const { name, skip } of engineCases) {
  describe(`kill -9 during a burst of writes [${name}]`, { skip, timeout: 180_000 }, () => {
    let dir: string;
    let databaseUrl: string;
    let drop: (() => Promise<void>) | undefined;
    const servers: Server[] = [];

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-kill9-'));
      if (name === 'sqlite') databaseUrl = `sqlite:${path.join(dir, 'latchkey.db')}`;
      else {
        if (!TEST_PG_URL) throw new Error('CI must run the PostgreSQL half: TEST_DATABASE_URL is not set');
        const db = await freshPgDatabase(TEST_PG_URL);
        databaseUrl = db.url;
        drop = db.drop;
      }
    });

    after(async () => {
      for (const s of servers) await s.kill('SIGKILL');
      await drop?.();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const env = () => ({
      DATABASE_URL: databaseUrl,
      LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: ADMIN,
      LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });

    it('keeps every answered write, whole, and no half-made one', async () => {
      const first = await startServer(env());
      servers.push(first);
      const { access } = await first.login(ADMIN, ADMIN_PASSWORD);

      const groups: Array<{ id: string; name: string }> = [];
      for (let g = 0; g < GROUPS; g++) {
        const r = await first.call('POST', '/api/groups/', { bearer: access, json: { name: `team-${g}` } });
        assert.equal(r.status, 201, r.text);
        groups.push(r.body);
      }

      const ops: UserOp[] = Array.from({ length: USERS }, (_, i) => ({
        username: `burst-${i}`,
        password: `pw-${i}-${Math.random().toString(36).slice(2, 10)}`,
        fields: { email: `burst-${i}@example.com`, first_name: `First ${i}`, last_name: `Last-${i} ünïcode` },
        created: 'no-answer',
        sentBeforeKill: [],
        failedAfterSendBeforeKill: 0,
      }));

      let killedAt = 0;
      let createdCount = 0;
      let killing: Promise<void> | undefined;
      const killNow = () => {
        killing ??= (async () => {
          killedAt = performance.now();
          await first.kill('SIGKILL');
        })();
      };
      // Each step: `send` returns the outcome; a request that got no answer ends this user's chain.
      const step = async (op: UserOp, send: () => Promise<{ status: number; body: any }>, okStatus: number): Promise<{ outcome: Outcome; body?: any }> => {
        const sentAt = performance.now();
        op.sentBeforeKill.push(killedAt === 0);
        try {
          const r = await send();
          return { outcome: r.status === okStatus ? 'ok' : 'refused', body: r.body };
        } catch {
          if (killedAt === 0 || sentAt < killedAt) op.failedAfterSendBeforeKill++;
          return { outcome: 'no-answer' };
        }
      };

      let next = 0;
      const worker = async () => {
        while (next < ops.length && killedAt === 0) {
          const i = next++;
          const op = ops[i]!;
          const c = await step(op, () => first.call('POST', '/api/users/', { bearer: access, json: { username: op.username, password: op.password, ...op.fields }, timeoutMs: 20_000 }), 201);
          op.created = c.outcome;
          if (c.outcome !== 'ok') continue;
          op.id = c.body.id;
          if (++createdCount === KILL_AFTER) killNow();
          const group = groups[i % GROUPS]!.id;
          const m = await step(op, () => first.call('POST', `/api/groups/${group}/members/`, { bearer: access, json: { id: op.id }, timeoutMs: 20_000 }), 201);
          op.member = { group, outcome: m.outcome };
          if (m.outcome !== 'ok' || i % 3 !== 0) continue;
          const to = `Renamed ${i}`;
          const p = await step(op, () => first.call('PATCH', `/api/users/${op.id}/`, { bearer: access, json: { first_name: to }, timeoutMs: 20_000 }), 200);
          op.rename = { to, outcome: p.outcome };
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, worker));
      await killing;
      assert.ok(killedAt > 0, 'the burst ended before the kill: nothing was tested');
      const { signal } = await first.exited;
      assert.equal(signal, 'SIGKILL');

      const answered = ops.filter((o) => o.created === 'ok');
      const unanswered = ops.filter((o) => o.created === 'no-answer' && o.sentBeforeKill[0]);
      const inFlight = ops.reduce((n, o) => n + o.failedAfterSendBeforeKill, 0);
      assert.ok(answered.length >= KILL_AFTER, `only ${answered.length} users were created before the kill`);
      assert.ok(inFlight >= 1, 'no request was in flight when the server was killed: the kill was not mid-burst');
      assert.equal(ops.filter((o) => o.created === 'refused').length, 0, 'a creation was refused before the kill');

      // Restart on the same database.
      const second = await startServer(env());
      servers.push(second);
      const admin = await second.login(ADMIN, ADMIN_PASSWORD);

      // Every user that exists: listed once, complete.
      const listed = new Map<string, any>();
      for (let page = 1; ; page++) {
        const r = await second.call('GET', `/api/users/?page=${page}`, { bearer: admin.access });
        assert.equal(r.status, 200, r.text);
        for (const u of r.body.resources) {
          assert.ok(!listed.has(u.username), `user ${u.username} listed twice`);
          listed.set(u.username, u);
        }
        if (!r.body.next) break;
      }
      const byName = new Map(ops.map((o) => [o.username, o]));
      for (const [username, u] of listed) {
        if (username === ADMIN) continue;
        const op = byName.get(username);
        assert.ok(op, `a user nobody asked for exists: ${username}`);
        assert.ok(op.created === 'ok' || op.created === 'no-answer', `${username} exists but its creation was refused`);
        if (op.created === 'ok') assert.equal(u.id, op.id);
        assert.equal(u.email, op.fields.email, `${username}: e-mail`);
        assert.equal(u.last_name, op.fields.last_name, `${username}: last name`);
        assert.equal(u.tenant_id, 'default');
        // first_name: as created, or as renamed when the rename was answered (either when it was not).
        const allowed = [op.fields.first_name];
        if (op.rename?.outcome === 'ok') allowed.splice(0, 1, op.rename.to);
        else if (op.rename) allowed.push(op.rename.to);
        assert.ok(allowed.includes(u.first_name), `${username}: first_name ${u.first_name} is none of ${allowed.join(' | ')}`);
        op.id ??= u.id;
      }
      for (const op of answered) assert.ok(listed.has(op.username), `${op.username} was created (201) before the kill but is gone`);
      const present = ops.filter((o) => listed.has(o.username));
      assert.ok(present.length <= answered.length + unanswered.length);

      // Every present user can sign in with its password: the hash was written whole with the row.
      for (const op of present) {
        const r = await second.call('POST', '/api/token', { json: { username: op.username, password: op.password } });
        assert.equal(r.status, 200, `${op.username} cannot sign in after the restart: ${r.status} ${r.text}`);
      }

      // Memberships: every answered one is there; none names a user that does not exist.
      for (const g of groups) {
        const r = await second.call('GET', `/api/groups/${g.id}/members/?page=1`, { bearer: admin.access });
        assert.equal(r.status, 200, r.text);
        assert.ok(r.body.count <= 100, 'more members than one page: raise the page walk');
        const members = new Set<string>(r.body.resources.map((u: any) => u.username));
        for (const m of members) assert.ok(listed.has(m), `group ${g.name} lists a missing user ${m}`);
        for (const op of present) {
          if (op.member?.group !== g.id) continue;
          if (op.member.outcome === 'ok') assert.ok(members.has(op.username), `${op.username}'s membership of ${g.name} was answered 201 but is gone`);
        }
        // No user is in a group it was never added to.
        for (const m of members) assert.equal(byName.get(m)!.member?.group, g.id, `${m} is in ${g.name} without having been added`);
      }

      if (name === 'sqlite') {
        const file = databaseUrl.slice('sqlite:'.length);
        const db = new SQLite(file, { readonly: true });
        try {
          assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
          assert.deepEqual(db.pragma('foreign_key_check'), []);
        } finally {
          db.close();
        }
      }
      console.log(`# ${name}: ${answered.length} users answered 201 before the kill, ${inFlight} request(s) in flight, ` +
        `${present.length - answered.length} unanswered creation(s) found whole after the restart`);
    });
  });
}
