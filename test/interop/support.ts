// Shared by the token interop suites: a Latchkey app listening on a real loopback port, a user
// in a group signed in over HTTP, Debian's python3 run with a script on stdin and secrets in its
// environment, and the ways a token is forged for the "must be refused" half of each check.
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { startApp, PUBLIC_URL, type TestApp } from '../helpers/app.ts';
import type { Engine } from '../helpers/engines.ts';
import { IN_CI, request } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';

/** Debian's interpreter: its dist-packages hold python3-jwt, -djangorestframework-simplejwt, ... */
export const PYTHON = '/usr/bin/python3';

/** The `iss` of every token a test app signs (its PUBLIC_URL), to name when verifying. */
export const ISSUER = PUBLIC_URL;

/**
 * Why the suite cannot run here (a skip reason), or false. In CI nothing is skipped: a missing
 * module makes the suite fail there instead.
 */
export function pythonSkip(modules: string[]): string | false {
  if (IN_CI) return false;
  const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8', env: pythonEnv({}) });
  if (r.error || r.status !== 0) return `${PYTHON} cannot import ${modules.join(', ')} (apt-get install the Debian python3 packages)`;
  return false;
}

/** A clean environment: no proxies from outside (the server is on the loopback), no user site. */
function pythonEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', PYTHONNOUSERSITE: '1', PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8', ...extra };
}

/**
 * Runs `script` (given on stdin, never in argv) with `env`; the script prints one JSON document,
 * which is returned. Rejects when python exits non-zero or prints something else.
 */
export function python(script: string, env: Record<string, string>): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-'], { env: pythonEnv(env), timeout: 60_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`python printed: ${stdout}\n${stderr}`));
      }
    });
    child.stdin!.end(script);
  });
}

export interface Listening {
  t: TestApp;
  base: string;
  /** The signed-in user: its id (the tokens' `sub`), name, tenant and groups. */
  user: { id: string; username: string; tenant: string; groups: string[]; password: string };
  /** POST /api/token over real HTTP as the user; the access token. */
  signIn(): Promise<string>;
  jwks(): Promise<{ keys: JWK[] }>;
  close(): Promise<void>;
}

const PASSWORD = 'interop-token-pass-1';

/**
 * A full server over a fresh database of `engine`, listening on 127.0.0.1 (port 0), with a user
 * `riley` who is a member of the groups `readers` and `writers`.
 */
export async function listening(engine: Engine): Promise<Listening> {
  const t = await startApp(engine);
  try {
    await t.createUser({ username: 'boss', password: PASSWORD, isStaff: true, isSuperuser: true });
    const u = await t.createUser({ username: 'riley', password: PASSWORD, email: 'riley@example.com' });
    const boss = await t.core.credentials.accessToken((await t.login('boss', PASSWORD)).access);
    const groups = ['readers', 'writers'];
    for (const name of groups) {
      const g = await t.core.groups.create(boss, name);
      await t.core.groups.addMember(boss, g.id, { username: 'riley' });
    }
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    return {
      t, base,
      user: { id: u.id, username: 'riley', tenant: u.tenantName, groups, password: PASSWORD },
      async signIn() {
        noteSecret(PASSWORD);
        const r = await request(base, 'POST', '/api/token', { json: { username: 'riley', password: PASSWORD } });
        if (r.status !== 200 || typeof r.body?.access !== 'string') throw new Error(`sign-in failed: ${r.status} ${r.text}`);
        return r.body.access as string;
      },
      async jwks() {
        const r = await request(base, 'GET', '/.well-known/jwks.json');
        if (r.status !== 200) throw new Error(`jwks: ${r.status} ${r.text}`);
        return r.body;
      },
      close: () => t.close(),
    };
  } catch (err) {
    await t.close();
    throw err;
  }
}

/** The public key of a JWK as SPKI PEM (what simplejwt's VERIFYING_KEY takes). */
export function jwkToPem(jwk: JWK): string {
  return crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const parts = (token: string) => {
  const [h, p, s] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()), h: h!, p: p!, s: s! };
};

/** Forged variants of a genuine token: each must be refused by any verifier. */
export function forgeries(token: string, otherSub = crypto.randomUUID()): Record<string, string> {
  const { header, payload, h, p, s } = parts(token);
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length - 1]! ^= 0x01;
  return {
    // Another user's id under the genuine signature.
    payload_changed: `${h}.${b64({ ...payload, sub: otherSub, user_id: otherSub })}.${s}`,
    // One bit of the signature flipped.
    signature_changed: `${h}.${p}.${sig.toString('base64url')}`,
    // RFC 8725 3.1: no signature at all.
    alg_none: `${b64({ ...header, alg: 'none' })}.${p}.`,
  };
}
