// The interactive API page, in a real browser. /api/docs must render Swagger UI with every
// operation of the OpenAPI document, and it must work with no internet: the viewer's scripts,
// styles and the document itself come from the server, so a browser that can reach nothing else
// still shows the API. A CSP that blocks the viewer's own files, a wrong asset path, or a
// viewer that fetches from a CDN or an online validator fails here.
//
// Runs Debian's chromium through playwright-core, on SQLite only (the database plays no part).
// Skipped when /usr/bin/chromium is missing on a developer's machine; never skipped in CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, launchChromium } from '../helpers/chromium.ts';
import { startApp, type TestApp } from '../helpers/app.ts';

const skip = chromiumSkip('browser test of /api/docs');

const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const SCREENSHOT = path.join(os.tmpdir(), 'latchkey-api-docs.png');
/**
 * A name the browser resolves to 127.0.0.1 (and nothing else does): the page as seen on a plain-http
 * server reached by a host name, which browsers do not treat as a secure origin as they do localhost.
 */
const NAMED_HOST = 'docs.latchkey.test';
const LOCAL_HOSTS = new Set(['127.0.0.1', NAMED_HOST]);
/**
 * Swagger UI draws its own small logo (an SVG with an inline <style>) before the viewer's initializer
 * swaps in another: the page's CSP refuses that one style, and the element is gone a moment later.
 */
const KNOWN_LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

interface Visit {
  page: Page;
  requested: URL[];
  /** Requests to any host but the server's own: recorded, then refused. */
  outside: string[];
  failed: string[];
  badResponses: string[];
  cspViolations: string[];
}

describe('API docs page in a real browser [sqlite]', { skip, timeout: 120_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let operations: Array<{ method: string; path: string }>;

  before(async () => {
    t = await startApp(sqlite);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const schema = (await (await fetch(`${base}/api/schema`)).json()) as { paths: Record<string, Record<string, unknown>> };
    operations = Object.entries(schema.paths).flatMap(([p, item]) =>
      Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map((m) => ({ method: m, path: p })));
    browser = await launchChromium(['--disable-quic', `--host-resolver-rules=MAP ${NAMED_HOST} 127.0.0.1`]);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function visit(url: string): Promise<Visit> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1600 } });
    const v: Visit = { page: await context.newPage(), requested: [], outside: [], failed: [], badResponses: [], cspViolations: [] };
    // No internet: anything not addressed to the server is refused, so the page can only
    // render from what the server itself serves.
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      return LOCAL_HOSTS.has(u.hostname) || u.protocol === 'data:' ? route.continue() : route.abort('internetdisconnected');
    });
    v.page.on('request', (r) => {
      const u = new URL(r.url());
      v.requested.push(u);
      if (u.protocol !== 'data:' && !LOCAL_HOSTS.has(u.hostname)) v.outside.push(r.url());
    });
    v.page.on('requestfailed', (r) => v.failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    v.page.on('response', (r) => {
      if (r.status() >= 400) v.badResponses.push(`${r.status()} ${r.url()}`);
    });
    v.page.on('console', (m) => {
      if (/content security policy/i.test(m.text()) && !m.text().includes(KNOWN_LOGO_STYLE)) v.cspViolations.push(m.text());
    });
    await v.page.goto(url, { waitUntil: 'load' });
    // Swagger UI fetches the document, then draws one block per operation.
    try {
      await v.page.locator('.swagger-ui .opblock').first().waitFor({ state: 'visible', timeout: 20_000 });
    } catch (err) {
      await context.close();
      const why = [...v.failed.map((f) => `failed: ${f}`), ...v.badResponses, ...v.cspViolations, ...v.outside.map((o) => `outside: ${o}`)];
      throw new Error(`${url} did not render the operations (${(err as Error).message.split('\n')[0]})\n${why.join('\n')}`);
    }
    return v;
  }

  it('renders Swagger UI with the title and every operation of /api/schema', async () => {
    const v = await visit(`${base}/api/docs`);
    try {
      await v.page.screenshot({ path: SCREENSHOT, fullPage: false });
      await assert.doesNotReject(v.page.locator('.swagger-ui .info .title', { hasText: 'Latchkey' }).waitFor({ state: 'visible' }));

      const token = v.page.locator('.opblock.opblock-post', { has: v.page.locator('.opblock-summary-path[data-path="/api/token"]') });
      assert.equal(await token.count(), 1, 'exactly one POST /api/token block');
      assert.equal(await token.isVisible(), true, 'POST /api/token is visible');
      assert.match((await token.locator('.opblock-summary-description').innerText()).trim(), /Obtain a JWT pair/);

      // Every operation of the document is on the page, and nothing else.
      const shown = await v.page.locator('.swagger-ui .opblock').evaluateAll((blocks) => blocks.map((b) => ({
        method: (b.querySelector('.opblock-summary-method')?.textContent ?? '').trim().toLowerCase(),
        path: b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '',
      })));
      const key = (o: { method: string; path: string }) => `${o.method} ${o.path}`;
      assert.ok(operations.length >= 20, `the document lists the API (${operations.length} operations)`);
      assert.deepEqual(shown.map(key).sort(), operations.map(key).sort());
      for (const op of ['get /api/users/', 'post /api/token/refresh', 'post /api/token/logout', 'post /api/auth/change-password', 'get /api/groups/{group_pk}/members/']) {
        assert.ok(shown.some((s) => key(s) === op), `${op} is shown`);
      }

      assert.deepEqual(v.outside, [], 'no request left the server');
      assert.ok(v.requested.some((u) => u.pathname.endsWith('/swagger-ui-bundle.js')), 'the viewer script came from the server');
      assert.ok(v.requested.some((u) => u.pathname === '/api/docs/json'), 'the document came from the server');
      assert.deepEqual(v.failed, [], 'no request failed');
      assert.deepEqual(v.badResponses, [], 'no request got an error status');
      assert.deepEqual(v.cspViolations, [], 'the page\'s own CSP blocked nothing');
    } finally {
      await v.page.context().close();
    }
  });

  it(`works on a plain-http server reached by a host name (http://${NAMED_HOST}), not only on localhost`, async () => {
    const named = base.replace('127.0.0.1', NAMED_HOST);
    const v = await visit(`${named}/api/docs`);
    try {
      const token = v.page.locator('.opblock.opblock-post', { has: v.page.locator('.opblock-summary-path[data-path="/api/token"]') });
      assert.equal(await token.isVisible(), true, 'POST /api/token is visible');
      // The viewer's files are fetched as linked, over http from the same server, never upgraded to https.
      const assets = v.requested.filter((u) => u.pathname.startsWith('/api/docs/'));
      assert.ok(assets.length >= 4, 'the viewer loaded its files');
      assert.deepEqual(assets.filter((u) => u.origin !== named).map(String), []);
      assert.deepEqual(v.outside, [], 'no request left the server');
      assert.deepEqual(v.failed, [], 'no request failed');
      assert.deepEqual(v.cspViolations, [], 'the page\'s own CSP blocked nothing');
    } finally {
      await v.page.context().close();
    }
  });

  it('opens an operation: POST /api/token shows its request body', async () => {
    const v = await visit(`${base}/api/docs/`);
    try {
      const token = v.page.locator('.opblock.opblock-post', { has: v.page.locator('.opblock-summary-path[data-path="/api/token"]') });
      await token.locator('.opblock-summary').first().click();
      const body = token.locator('.opblock-body');
      await body.waitFor({ state: 'visible', timeout: 10_000 });
      const text = await body.innerText();
      assert.match(text, /username/);
      assert.match(text, /password/);
      assert.match(text, /\b200\b/);
      assert.match(text, /\b401\b/);
      assert.deepEqual(v.outside, [], 'no request left the server');
      assert.deepEqual(v.failed, [], 'no request failed');
    } finally {
      await v.page.context().close();
    }
  });
});
