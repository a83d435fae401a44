// Threat: e-mail flooding. Anyone may ask for a password-reset or verification e-mail for any
// address, and a script asking 25 times in 0.1 s had 25 messages sent: a way to bury someone's
// inbox under our messages (and to get our mail server's reputation ruined). Per target address,
// with django-allauth's defaults: at most 5 reset e-mails a minute and 1 verification e-mail in 3
// minutes (a resend, or a signed-in user's "verify this address"); more are 429 with
// Retry-After in DRF's shape, and no message leaves. The count is by address alone, known or
// not, so the limit says nothing of who has an account. The limits are tenant settings. Counted
// with the real SMTP sink's messages; time is a manual clock.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { fastHasher } from '../helpers/app.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { smtpMailer } from '../../src/mail/transports.ts';
import { ManualClock } from '../../src/core/index.ts';
import { PASSWORD, startLive, v1Login, type Live, type Reply } from './support.ts';

const RESET = '/api/auth/password/reset/';
const RESEND = '/api/auth/registration/resend-email/';
const tooMany = (s: number) => ({ detail: `Too many e-mails to this address. Try again in ${s} seconds.` });

for (const { engine, skip } of engines) {
  describe(`e-mail floods [${engine.name}]`, { skip }, () => {
    const clock = new ManualClock(Date.now());
    let live: Live;
    let smtp: SmtpSink;
    let n = 0;
    const sentTo = async (address: string) => {
      await live.t.core.outbox.idle();
      return smtp.messages.filter((m) => m.to.includes(address)).length;
    };
    const ask = (path: string, email: string) => live.call('POST', path, { json: { email } });
    const retryAfter = (r: Reply) => Number(r.headers.get('retry-after'));
    /** Moves past every window. */
    const later = () => clock.advance(3_600_000);

    before(async () => {
      smtp = await startSmtpSink();
      live = await startLive(engine, { clock, hasher: fastHasher(), mailer: smtpMailer(smtp.url) });
      await live.t.createUser({ username: 'staff', password: PASSWORD, isStaff: true });
    });
    after(async () => {
      await live?.close();
      await smtp?.close();
    });

    it('a reset flood: 5 e-mails a minute to one address, the 6th request is 429 with Retry-After and sends nothing, alike for an unknown address', async () => {
      later();
      const known = `flood${++n}@example.com`;
      const unknown = `nobody${n}@example.com`;
      await live.t.createUser({ username: `flood${n}`, password: PASSWORD, email: known });
      const replies: Record<string, Reply[]> = { [known]: [], [unknown]: [] };
      for (let i = 0; i < 6; i++) for (const a of [known, unknown]) replies[a]!.push(await ask(RESET, a));
      for (const a of [known, unknown]) {
        assert.deepEqual(replies[a]!.map((r) => r.status), [200, 200, 200, 200, 200, 429], a);
        const over = replies[a]![5]!;
        assert.ok(retryAfter(over) > 60 && retryAfter(over) <= 70, `Retry-After ${retryAfter(over)}: the minute, rounded up to the counters' 10 s`);
        assert.deepEqual(over.body, tooMany(retryAfter(over)));
      }
      assert.equal(retryAfter(replies[known]![5]!), retryAfter(replies[unknown]![5]!), 'the limit tells nothing of the account');
      assert.equal(await sentTo(known), 5, 'five messages, not six');
      assert.equal(await sentTo(unknown), 0);
      // Twenty more in a burst: none sends anything.
      const burst = await Promise.all(Array.from({ length: 20 }, () => ask(RESET, known.toUpperCase())));
      assert.deepEqual([...new Set(burst.map((r) => r.status))], [429], 'the address in other letter case is the same address');
      assert.equal(await sentTo(known), 5);
      // Once the window has moved on, a request is served again.
      const wait = retryAfter(replies[known]![5]!);
      clock.advance((wait - 1) * 1000);
      assert.equal((await ask(RESET, known)).status, 429, 'a second early');
      clock.advance(1000);
      assert.equal((await ask(RESET, known)).status, 200);
      assert.equal(await sentTo(known), 6);
    });

    it('verification e-mails: 1 in 3 minutes per address, for a resend and for a signed-in "verify this address" alike; an unknown address is answered the same', async () => {
      later();
      const email = `unverified${++n}@example.com`;
      const unknown = `nobody${n}@example.com`;
      const reg = await live.call('POST', '/api/auth/registration/', { json: { username: `new${n}`, email, password1: PASSWORD, password2: PASSWORD } });
      assert.equal(reg.status, 201, reg.text);
      noteSecret(reg.body.key);
      assert.equal(await sentTo(email), 1, 'the registration\'s own message (not counted against resends)');
      const first = [await ask(RESEND, email), await ask(RESEND, unknown)];
      assert.deepEqual(first.map((r) => r.status), [201, 201]);
      assert.equal(await sentTo(email), 2);
      const second = [await ask(RESEND, email), await ask(RESEND, unknown)];
      assert.deepEqual(second.map((r) => r.status), [429, 429]);
      assert.ok(retryAfter(second[0]!) > 180 && retryAfter(second[0]!) <= 210, `Retry-After ${retryAfter(second[0]!)}`);
      assert.equal(retryAfter(second[0]!), retryAfter(second[1]!));
      assert.deepEqual(second[0]!.body, second[1]!.body);
      assert.deepEqual(second[0]!.body, tooMany(retryAfter(second[0]!)));
      // The owner's own route to the same message shares the limit.
      const headers = { authorization: `Token ${reg.body.key}` };
      const list = await live.call('GET', '/api/auth/emails/', { headers });
      const id = list.body.results.find((e: { email: string }) => e.email === email).id;
      const verify = await live.call('POST', `/api/auth/emails/${id}/verify/`, { headers });
      assert.equal(verify.status, 429, verify.text);
      assert.deepEqual(Object.keys(verify.body), ['detail']);
      assert.ok(retryAfter(verify) > 0);
      assert.equal(await sentTo(email), 2, 'no message beyond the first resend');
      clock.advance(retryAfter(second[0]!) * 1000);
      assert.equal((await live.call('POST', `/api/auth/emails/${id}/verify/`, { headers })).status, 200);
      assert.equal(await sentTo(email), 3);
      assert.equal(await sentTo(unknown), 0);
    });

    it('the limits are tenant settings, validated by the configuration API', async () => {
      later();
      const staff = await v1Login(live, 'staff');
      const set = (key: string, value: string) => live.call('POST', '/api/configuration/', { bearer: staff.access, json: { key, value } });
      for (const key of ['password_reset_email_limit', 'verification_email_limit']) {
        const bad = await set(key, '0');
        assert.equal(bad.status, 400, bad.text);
        assert.deepEqual(bad.body, { value: ['Must be between 1 and 1000.'] });
      }
      assert.equal((await set('password_reset_email_limit', '2')).status, 201);
      try {
        const a = `settings${++n}@example.com`;
        assert.deepEqual([await ask(RESET, a), await ask(RESET, a), await ask(RESET, a)].map((r) => r.status), [200, 200, 429]);
      } finally {
        assert.equal((await set('password_reset_email_limit', '5')).status, 201);
      }
    });
  });
}
