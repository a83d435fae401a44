// The hosted pages' audit in a real browser, shared by the browser suites: each page the test
// visited is served again exactly as the browser got it (its forms are single-use), at desktop
// and phone widths, checked by axe-core (serious and critical findings are answered) and, with
// LATCHKEY_SCREENSHOTS=1, photographed into docs/screenshots/<prefix>-<name>-<desktop|phone>.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { BrowserContext } from 'playwright-core';
import { ROOT } from './processes.ts';

export const SHOTS = path.join(ROOT, 'docs/screenshots');
export const SCREENSHOTS = process.env.LATCHKEY_SCREENSHOTS === '1';
export const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface VisitedPage {
  name: string;
  url: string;
  html: string;
}

type Violation = { id: string; impact: string; nodes: unknown[] };

/** The serious and critical axe findings over `visited` at 1280 and 390 px, as `name @width: rule (...)`. */
export async function auditPages(
  newContext: (o: { javaScriptEnabled: boolean; width: number }) => Promise<BrowserContext>,
  visited: VisitedPage[],
  prefix: string,
): Promise<string[]> {
  const findings: string[] = [];
  for (const width of [1280, 390]) {
    // JavaScript on, for axe alone.
    const context = await newContext({ javaScriptEnabled: true, width });
    const page = await context.newPage();
    try {
      for (const v of visited) {
        await page.route(v.url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: v.html, headers: { 'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http:" } }), { times: 1 });
        await page.goto(v.url, { waitUntil: 'load' });
        if (SCREENSHOTS) await page.screenshot({ path: path.join(SHOTS, `${prefix}-${v.name}-${width < 600 ? 'phone' : 'desktop'}.png`), fullPage: true });
        await page.evaluate(AXE);
        const result = await page.evaluate(async () => {
          const r = await (globalThis as unknown as { axe: { run(o: object): Promise<{ violations: Violation[]; passes: unknown[] }> } }).axe.run({ resultTypes: ['violations'] });
          return { violations: r.violations.map((x) => ({ id: x.id, impact: x.impact, n: x.nodes.length })), passes: r.passes.length };
        });
        for (const x of result.violations) {
          if (x.impact === 'serious' || x.impact === 'critical') findings.push(`${v.name} @${width}: ${x.id} (${x.impact}, ${x.n} nodes)`);
        }
        assert.ok(result.passes > 0, `axe ran on ${v.name}`);
      }
    } finally {
      await context.close();
    }
  }
  return findings;
}
