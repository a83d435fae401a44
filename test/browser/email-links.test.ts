// The links in Latchkey's e-mails, followed in a real browser with JavaScript off. A user who
// registers or forgets a password gets a message whose link must lead to a page that says what
// happened or what to do next, never a 404: the verification link verifies the address by
// itself (and says so, or says clearly why not), the reset link's page offers a plain form that
// sets the new password, after the token has left the URL. Both pages load nothing but their
// own stylesheet, are cached by no one and send no Referer onwards. Screenshots go to
// docs/screenshots/ only with LATCHKEY_SCREENSHOTS=1, so a test run does not rewrite tracked files.
//
// Runs Debian's chromium through playwright-core, on SQLite only (the pages are the same over
// PostgreSQL: test/security/log-secrets.test.ts opens both links on each engine). Skipped when
// /usr/bin/chromium is missing on a developer's machine; never skipped in CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, launchChromium } from '../helpers/chromium.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort, ROOT } from '../helpers/processes.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { smtpMailer } from '../../src/mail/transports.ts';

const skip = chromiumSkip('browser test of the e-mail links');
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const SHOTS = path.join(ROOT, 'docs/screenshots');
const SCREENSHOTS = process.env.LATCHKEY_SCREENSHOTS === '1';
const shoot = async (page: Page, name: string) => {
  if (SCREENSHOTS) await page.screenshot({ path: path.join(SHOTS, name) });
};
const PW = 'browser-links-passphrase-1';
const NEW_PW = 'browser-links-passphrase-2';

/** The first link in a message's text that starts with `prefix`. */
const link = (text: string, prefix: string) => {
  const m = text.match(new RegExp(`(${prefix.replace(/[.?]/g, '\\$&')}[^\\s"<]+)`));
  if (!m) throw new Error(`no ${prefix} link in the message`);
  return m[1]!;
};

describe('e-mail links in a real browser [sqlite]', { skip, timeout: 120_000 }, () => {
  let t: TestApp;
  let smtp: SmtpSink;
  let base: string;
  let browser: Browser;

  before(async () => {
    smtp = await startSmtpSink();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startApp(sqlite, { publicUrl: base, mailer: smtpMailer(smtp.url) });
    await t.app.listen({ host: '127.0.0.1', port });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    await smtp?.close();
  });

  /** A page with JavaScript off that records every request it makes. */
  async function open(url: string): Promise<{ context: BrowserContext; page: Page; status: number; headers: Record<string, string>; requested: string[] }> {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 720, height: 560 } });
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    const answer = await page.goto(url, { waitUntil: 'load' });
    return { context, page, status: answer!.status(), headers: answer!.headers(), requested };
  }

  const checkPage = async (p: Awaited<ReturnType<typeof open>>, urls: string[], heading: RegExp) => {
    assert.equal(await p.page.locator('html').getAttribute('lang'), 'en');
    assert.match(await p.page.locator('h1').innerText(), heading);
    assert.equal(await p.page.locator('script, img, iframe').count(), 0, 'nothing loaded besides the page and its stylesheet');
    assert.deepEqual(p.requested, [...urls, `${base}/account/style.css`], 'the page made no other request');
    assert.equal(p.headers['cache-control'], 'no-store');
    assert.equal(p.headers['referrer-policy'], 'no-referrer');
    assert.match(p.headers['content-type'] ?? '', /^text\/html; charset=utf-8/);
  };

  it('the verification link verifies the address and says so; opened again, it says clearly that it no longer works', async () => {
    noteSecret(PW);
    const reg = await fetch(`${base}/api/auth/registration/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'browsing', email: 'browsing@example.com', password1: PW, password2: PW }) });
    assert.equal(reg.status, 201, await reg.text());
    const url = link((await smtp.next('browsing@example.com')).text, `${base}/account/verify-email/?key=`);
    noteSecret(new URL(url).searchParams.get('key'));
    const tenantPk = (await t.core.tenants.resolve(undefined)).pk;
    // A link checker's HEAD, and a malformed copy of the link, verify nothing.
    assert.equal((await fetch(url, { method: 'HEAD' })).status, 200);
    const doubled = await fetch(`${url}&key=other`);
    assert.deepEqual([doubled.status, doubled.headers.get('content-type')], [400, 'text/html; charset=utf-8']);
    assert.equal((await t.store.read.users.findByUsername(tenantPk, 'browsing'))?.emailVerified, false, 'not verified by HEAD');
    const first = await open(url);
    try {
      assert.equal(first.status, 200);
      await checkPage(first, [url], /Your e-mail address is verified/);
      await shoot(first.page, 'email-verified.png');
    } finally {
      await first.context.close();
    }
    const user = await t.store.read.users.findByUsername(tenantPk, 'browsing');
    assert.equal(user?.emailVerified, true, 'the address is verified');
    const again = await open(url);
    try {
      assert.equal(again.status, 400);
      await checkPage(again, [url], /This link did not work/);
      assert.match(await again.page.locator('main').innerText(), /Invalid or expired verification key/);
      await shoot(again.page, 'email-link-used.png');
    } finally {
      await again.context.close();
    }
  });

  it('the reset link\'s page takes the token out of the URL, then its plain form sets the new password', async () => {
    noteSecret(NEW_PW);
    const asked = await fetch(`${base}/api/auth/password/reset/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'browsing@example.com' }) });
    assert.equal(asked.status, 200);
    const url = link((await smtp.next('browsing@example.com', 1)).text, `${base}/account/reset-password/?uid=`);
    noteSecret(new URL(url).searchParams.get('token'));
    const p = await open(url);
    try {
      assert.equal(p.status, 200);
      const formUrl = `${base}/account/reset-password/`;
      assert.equal(p.page.url(), formUrl, 'the form is shown at a URL without the token');
      await checkPage(p, [url, formUrl], /Choose a new password/);
      assert.equal(await p.page.locator('input[type=hidden][name=token], input[type=hidden][name=uid]').count(), 0, 'nor is it in the page');
      assert.ok(!(await p.page.content()).includes(new URL(url).searchParams.get('token')!), 'the token is not in the page');
      await p.page.getByLabel('New password', { exact: true }).fill(NEW_PW);
      await p.page.getByLabel('The new password again').fill(NEW_PW);
      await shoot(p.page, 'reset-password.png');
      const [answer] = await Promise.all([p.page.waitForResponse((r) => r.url() === formUrl && r.request().method() === 'POST'), p.page.getByRole('button', { name: 'Set the new password' }).click()]);
      assert.equal(answer.status(), 200, await answer.text());
      assert.match(await p.page.locator('h1').innerText(), /Your password has been changed/);
    } finally {
      await p.context.close();
    }
    const login = await fetch(`${base}/api/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'browsing', password: NEW_PW }) });
    assert.equal(login.status, 200, 'the new password signs in');
    const pair = await login.json() as { access: string; refresh: string };
    noteSecret(pair.access);
    noteSecret(pair.refresh);
  });
});
