// Threat: a stolen refresh token keeps its thief signed in. Refresh tokens rotate on every use,
// so a token presented a second time means two parties hold it (the thief or the victim replays
// it): the whole family is revoked, the newest refresh token and the access tokens with it
// (OAuth 2.0 Security BCP §4.14). Two refreshes racing with one token must not both win (that
// would fork the family), and a refresh token must stop working when its sign-in ends (logout,
// revocation by the user, deactivation, expiry). Tried on the v1 (`/api/token/refresh`) and
// OAuth2 v2 (`POST /token`, refresh_token grant) endpoints, crossing between them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { ManualClock, type User } from '../../src/core/index.ts';
import { PASSWORD, REVOKED, probes, startLive, v1Login, v2Login, type Live, type Reply } from './support.ts';

interface Refresher {
  name: string;
  refresh(live: Live, token: string): Promise<Reply>;
  /** The new pair from a 200. */
  pair(r: Reply): { access: string; refresh: string };
  refused: { status: number; body: unknown };
}

const refreshers: Refresher[] = [
  {
    name: 'v1',
    refresh: (live, token) => live.call('POST', '/api/token/refresh', { json: { refresh: token } }),
    pair: (r) => ({ access: r.body.access, refresh: r.body.refresh }),
    refused: { status: 401, body: { detail: 'Token is invalid or expired', code: 'token_not_valid' } },
  },
  {
    name: 'oauth2-v2',
    refresh: (live, token) => live.call('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: token } }),
    pair: (r) => ({ access: r.body.access_token, refresh: r.body.refresh_token }),
    refused: { status: 400, body: { error: 'invalid_grant', error_description: 'Token is invalid or expired', detail: 'Token is invalid or expired' } },
  },
];

for (const { engine, skip } of engines) {
  describe(`refresh-token attacks [${engine.name}]`, { skip }, () => {
    const clock = new ManualClock();
    let live: Live;
    let user: User;

    before(async () => {
      live = await startLive(engine, { clock });
      user = await live.t.createUser({ username: 'alice', password: PASSWORD });
    });
    after(async () => { await live?.close(); });

    async function ok(via: Refresher, token: string) {
      const r = await via.refresh(live, token);
      assert.equal(r.status, 200, `${via.name}: ${r.text}`);
      return via.pair(r);
    }
    async function refused(via: Refresher, token: string) {
      const r = await via.refresh(live, token);
      assert.equal(r.status, via.refused.status, `${via.name}: ${r.text}`);
      assert.deepEqual(r.body, via.refused.body, via.name);
    }
    async function accessRefused(access: string) {
      for (const p of probes) {
        const r = await live.call('GET', p.path(user), { bearer: access });
        assert.equal(r.status, 401, `${p.dialect}: ${r.text}`);
        assert.deepEqual(r.body, p.invalid(REVOKED), p.dialect);
      }
    }
    async function accessAccepted(access: string) {
      for (const p of probes) {
        const r = await live.call('GET', p.path(user), { bearer: access });
        assert.equal(r.status, 200, `${p.dialect}: ${r.text}`);
      }
    }

    for (const first of refreshers) {
      for (const replay of refreshers) {
        it(`reusing a rotated token (rotated via ${first.name}, replayed via ${replay.name}) revokes the whole family`, async () => {
          const start = await v1Login(live, 'alice');
          const bystander = await v2Login(live, 'alice'); // another sign-in of the same user
          const second = await ok(first, start.refresh);
          const third = await ok(first, second.refresh);
          await accessAccepted(third.access);
          await refused(replay, start.refresh); // the replay
          // Everything in the family is dead now: the newest refresh token and every access token.
          for (const via of refreshers) await refused(via, third.refresh);
          await refused(first, second.refresh);
          for (const a of [start.access, second.access, third.access]) await accessRefused(a);
          // The user's other sign-in is untouched.
          await accessAccepted(bystander.access);
          await ok(replay, bystander.refresh);
        });
      }
    }

    it('the reuse is recorded in the audit log as refresh_token.reused', async () => {
      const start = await v1Login(live, 'alice');
      await ok(refreshers[0]!, start.refresh);
      await refused(refreshers[0]!, start.refresh);
      const admin = await live.t.createUser({ username: `auditor-${Date.now()}`, password: PASSWORD, isStaff: true });
      const r = await live.call('GET', `/api/audit-events/?type=refresh_token.reused&user_id=${user.id}`, { bearer: (await v1Login(live, admin.username)).access });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.count >= 1);
      assert.equal(r.body.resources[0].type, 'refresh_token.reused');
      assert.equal(r.body.resources[0].user_id, user.id);
    });

    for (const [a, b] of [[refreshers[0]!, refreshers[0]!], [refreshers[1]!, refreshers[1]!], [refreshers[0]!, refreshers[1]!]]) {
      it(`two parallel refreshes with one token (${a.name} + ${b.name}): at most one wins, 20 times over`, async () => {
        for (let round = 0; round < 20; round++) {
          const { refresh } = await v1Login(live, 'alice');
          const replies = await Promise.all([a.refresh(live, refresh), b.refresh(live, refresh)]);
          const winners = replies.filter((r) => r.status === 200);
          assert.ok(winners.length <= 1, `round ${round}: ${winners.length} refreshes succeeded with one token`);
          replies.forEach((r, i) => {
            if (r.status === 200) return;
            const via = [a, b][i]!;
            assert.equal(r.status, via.refused.status, `round ${round} ${via.name}: ${r.text}`);
            assert.deepEqual(r.body, via.refused.body);
          });
          // The loser presented a used token: the family is revoked, the winner's pair included.
          for (const w of winners) {
            const pair = (w === replies[0] ? a : b).pair(w);
            await refused(refreshers[0]!, pair.refresh);
            await accessRefused(pair.access);
          }
        }
      });
    }

    it('refresh after logout fails, for the family logged out and for a refresh token named in the logout body', async () => {
      const one = await v1Login(live, 'alice');
      const two = await v2Login(live, 'alice');
      const out = await live.call('POST', '/api/token/logout', { bearer: one.access, json: { refresh: two.refresh } });
      assert.equal(out.status, 200, out.text);
      assert.equal(out.text, '');
      for (const via of refreshers) {
        await refused(via, one.refresh);
        await refused(via, two.refresh);
      }
      await accessRefused(one.access);
      await accessRefused(two.access);
    });

    it('a logout cannot revoke someone else\'s family by naming its refresh token', async () => {
      const victim = await live.t.createUser({ username: 'victim', password: PASSWORD });
      const theirs = await v1Login(live, 'victim');
      const mine = await v1Login(live, 'alice');
      const out = await live.call('POST', '/api/token/logout', { bearer: mine.access, json: { refresh: theirs.refresh } });
      assert.equal(out.status, 200);
      const r = await live.call('GET', `/api/users/${victim.id}/`, { bearer: theirs.access });
      assert.equal(r.status, 200, r.text);
      await ok(refreshers[0]!, theirs.refresh);
    });

    it('refresh after the sign-in is revoked from the sign-ins list fails', async () => {
      const keep = await v1Login(live, 'alice');
      const drop = await v2Login(live, 'alice');
      const list = await live.call('GET', '/api/sign-ins/', { bearer: keep.access });
      assert.equal(list.status, 200);
      const other = (list.body.resources as Array<{ id: string; current: boolean }>).filter((s) => !s.current);
      for (const s of other) {
        const r = await live.call('DELETE', `/api/sign-ins/${s.id}/`, { bearer: keep.access });
        assert.equal(r.status, 204, r.text);
      }
      await refused(refreshers[1]!, drop.refresh);
      await accessRefused(drop.access);
      await ok(refreshers[0]!, keep.refresh);
    });

    it('refresh of a deactivated user fails, and does not come back when the user is enabled again', async () => {
      const paused = await live.t.createUser({ username: 'paused', password: PASSWORD });
      const pair = await v1Login(live, 'paused');
      const staff = await live.t.createUser({ username: 'staff-r', password: PASSWORD, isStaff: true });
      const staffToken = (await v1Login(live, staff.username)).access;
      const off = await live.call('PATCH', `/user/${paused.pk}/`, { bearer: staffToken, json: { is_active: false } });
      assert.equal(off.status, 200, off.text);
      for (const via of refreshers) await refused(via, pair.refresh);
      const on = await live.call('PATCH', `/user/${paused.pk}/`, { bearer: staffToken, json: { is_active: true } });
      assert.equal(on.status, 200, on.text);
      for (const via of refreshers) await refused(via, pair.refresh);
    });

    it('an expired refresh token fails, even unused', async () => {
      const pair = await v1Login(live, 'alice');
      const next = await v1Login(live, 'alice');
      clock.advance(86_400_000 - 1000);
      await ok(refreshers[0]!, next.refresh); // still inside its lifetime
      clock.advance(1000);
      for (const via of refreshers) await refused(via, pair.refresh);
    });

    it('made-up, truncated and oversized refresh tokens fail without a server error', async () => {
      const { refresh } = await v1Login(live, 'alice');
      for (const token of [refresh.slice(0, -1), `${refresh}x`, refresh.toUpperCase(), 'x', "' OR 1=1 --", 'a'.repeat(600)]) {
        for (const via of refreshers) await refused(via, token);
      }
      await ok(refreshers[0]!, refresh); // the real one was never touched
      const tooLong = await refreshers[0]!.refresh(live, 'a'.repeat(5000));
      assert.equal(tooLong.status, 400);
      assert.deepEqual(tooLong.body, { refresh: ['Ensure this field has no more than 4096 characters.'] });
    });
  });
}
