// The Chromium the browser suites drive, set up one way: Debian's chromium through
// playwright-core, contexts that reach only the servers a test starts, and a virtual
// authenticator for the passkey suites.
import fs from 'node:fs';
import type { Browser, BrowserContext } from 'playwright-core';
import { chromium } from 'playwright-core';

/** Debian's package: playwright-core brings no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * The suite's skip note when Chromium is missing on a developer's machine (`what`: what is skipped),
 * else false. CI=true never skips: there a missing browser must fail, not pass unseen.
 */
export function chromiumSkip(what: string): string | false {
  return !fs.existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} is not installed (apt-get install chromium): ${what} skipped` : false;
}

/**
 * Headless, no sandbox (a container seldom gives Chromium one), no GPU, and none of the browser's own
 * traffic (first-run, updates, sync): a test sees only the requests its pages make. `extra` for a
 * suite's own flags.
 */
export function launchChromium(extra: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extra],
  });
}

export interface ContextOptions {
  javaScriptEnabled: boolean;
  /** Desktop 1280 by default; under 600 a phone's height. */
  width?: number;
  locale?: string;
}

/**
 * A context that can reach only `hosts` (host:port): every other request is aborted as a browser
 * offline would see it, so a page that needs the internet fails here. Routes do not see a
 * redirect's target: a host redirected to must be served for real and listed.
 */
export async function isolatedContext(browser: Browser, hosts: string[], opts: ContextOptions): Promise<BrowserContext> {
  const width = opts.width ?? 1280;
  const context = await browser.newContext({ javaScriptEnabled: opts.javaScriptEnabled, viewport: { width, height: width < 600 ? 844 : 800 }, locale: opts.locale ?? 'en-GB' });
  await context.route('**/*', (route) => (hosts.includes(new URL(route.request().url()).host) ? route.continue() : route.abort('internetdisconnected')));
  return context;
}

/**
 * A new page of `context` (handed back with it) with its own virtual authenticator and no
 * credential yet (CDP WebAuthn: a platform authenticator with discoverable keys that verifies the
 * user and is touched at once), so a test's passkey ceremonies run without a person.
 */
export async function withVirtualAuthenticator(context: BrowserContext) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  /** The credentials the authenticator holds now. */
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  return { context, page, cdp, authenticatorId, credentials };
}
