// Answers that carry a credential (a token pair, a token key, a client secret, an echoed
// credential) must never be kept by a cache, the browser's included (RFC 6749 §5.1, RFC 9700
// §4.14.2). A route says so once, with `config: { credentialAnswer: true }`; this hook sets the
// headers on every answer of that route, refusals too, so no endpoint can forget one of them.
import type { FastifyInstance, onSendHookHandler } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every answer of this route (success or error) carries a credential or may: never cached. */
    credentialAnswer?: boolean;
  }
}

export function neverCacheCredentialAnswers(app: FastifyInstance): void {
  // A hook on those routes alone (added as each is declared), so other answers pay nothing.
  const noStore: onSendHookHandler = (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    done(null, payload);
  };
  app.addHook('onRoute', (route) => {
    if (!route.config?.credentialAnswer) return;
    route.onSend = route.onSend === undefined ? [noStore] : [...(Array.isArray(route.onSend) ? route.onSend : [route.onSend]), noStore];
  });
}
