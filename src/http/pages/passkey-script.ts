// The pages' one script: @simplewebauthn/browser's bundle (the browser half of the passkey
// ceremonies: base64url options in, the credential's JSON out) and the pages' glue
// (assets/passkeys.js), served together from /account/passkeys.js. Its address carries a hash of
// its content, so a browser may keep it long and still gets a new one after an upgrade.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

let body: string | undefined;
let hash: string | undefined;

function load(): string {
  if (body === undefined) {
    const require = createRequire(import.meta.url);
    const bundle = path.join(path.dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist/bundle/index.umd.min.js');
    body = `${fs.readFileSync(bundle, 'utf8')}\n${fs.readFileSync(new URL('./assets/passkeys.js', import.meta.url), 'utf8')}`;
    hash = crypto.createHash('sha256').update(body).digest('base64url').slice(0, 12);
  }
  return body;
}

/** The script's address, for a page's <script src>. */
export function passkeyScriptPath(): string {
  load();
  return `/account/passkeys.js?v=${hash}`;
}

export function passkeyScriptRoute(app: FastifyInstance): void {
  app.get('/account/passkeys.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400')
      .header('x-content-type-options', 'nosniff').send(load()));
}
