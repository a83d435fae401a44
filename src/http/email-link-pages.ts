// The pages the links in Latchkey's e-mails open (src/core/mail/messages.ts), until hosted
// pages exist: small server-rendered HTML that works without JavaScript. The verification link
// verifies the address by itself, as django-allauth does with ACCOUNT_CONFIRM_EMAIL_ON_GET,
// through the same core call as POST /api/auth/registration/verify-email/. The reset link's page
// explains the API call and offers a plain form for it. Both carry a secret in their URL, so
// they are never cached, send no Referer onwards, and load nothing from anywhere.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Core } from '../core/index.ts';
import { classify } from './errors.ts';

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}'
  + 'code{background:#f0f0f0;padding:0 .2em;word-break:break-all}label{display:block;margin-top:.8rem}'
  + 'input{font:inherit;padding:.3rem;width:100%;box-sizing:border-box}button{font:inherit;margin-top:1rem;padding:.4rem 1rem}';

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply.code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    .send(`<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
      + `<title>${escape(title)} – Latchkey</title><style>${STYLE}</style></head>`
      + `<body><main><h1>${escape(title)}</h1>${body}</main></body></html>\n`);
}

const one = (v: unknown) => (typeof v === 'string' ? v : undefined);
const QUERY = { type: 'object', additionalProperties: true } as const;

export async function emailLinkPages(app: FastifyInstance, { core }: { core: Core }) {
  // A query Fastify cannot take (a repeated parameter) is a page too, not a JSON error.
  app.setErrorHandler((err, request, reply) => {
    const c = classify(err);
    if (c.kind === 'validation' || c.kind === 'http') return page(reply, 400, 'This link is incomplete', '<p>Open the whole link from the message, exactly as it was sent.</p>');
    request.log.error({ err }, 'unhandled error');
    return page(reply, 500, 'Something went wrong', '<p>Please try again in a minute.</p>');
  });
  app.get('/account/verify-email/', {
    schema: {
      tags: ['e-mail links'], summary: 'The verification link of an e-mail: verifies the address and answers an HTML page',
      description: 'Opened from the message (`?key=...`). 200 when the address is now verified; 400 with a page saying so when the key is missing, invalid, expired or used. The same check as `POST /api/auth/registration/verify-email/`.',
      querystring: { ...QUERY, properties: { key: { type: 'string', description: 'The key from the message' } } },
    },
  }, async (request, reply) => {
    // HEAD (a link checker, a mail scanner asking about the page) verifies nothing.
    if (request.method === 'HEAD') return page(reply, 200, 'Verify your e-mail address', '<p>Open this link in a browser to verify your address.</p>');
    const key = one((request.query as Record<string, unknown>).key) ?? '';
    try {
      await core.emailVerification.verify(key);
    } catch (err) {
      const c = classify(err);
      if (c.kind === 'domain') {
        const why = c.error.fields?.key?.[0] ?? c.error.message;
        return page(reply, 400, 'This link did not work', `<p>${escape(why)}</p>`
          + '<p>A verification link works once and for a limited time. If your address is not verified yet, ask for a new message from the application you use '
          + '(it calls <code>POST /api/auth/registration/resend-email/</code>) and follow the newest link.</p>');
      }
      if (c.kind === 'unavailable') return page(reply, 503, 'Please try again in a minute', '<p>The service is busy or briefly unavailable. Your link has not been used: open it again in a minute.</p>');
      throw err;
    }
    return page(reply, 200, 'Your e-mail address is verified', '<p>Thank you: your address is confirmed. You can close this page and sign in.</p>');
  });

  app.get('/account/reset-password/', {
    schema: {
      tags: ['e-mail links'], summary: 'The password-reset link of an e-mail: an HTML page saying how to set the new password',
      description: 'Opened from the message (`?uid=...&token=...`). Explains `POST /api/auth/password/reset/confirm/` with that uid and token, and offers a plain form for it. Checks nothing and changes nothing by itself. Sent with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.',
      querystring: { ...QUERY, properties: { uid: { type: 'string' }, token: { type: 'string' } } },
    },
  }, async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const uid = one(q.uid);
    const token = one(q.token);
    if (!uid || !token) {
      return page(reply, 400, 'This link is incomplete', '<p>The link lacks its <code>uid</code> or <code>token</code>. Open the whole link from the message, or ask for a new one with <code>POST /api/auth/password/reset/</code>.</p>');
    }
    return page(reply, 200, 'Choose a new password',
      '<p>This link works once and for a limited time. Set the new password with the form below, or from your application with this API call:</p>'
      + `<p><code>POST /api/auth/password/reset/confirm/</code> with the JSON body <code>{"uid": "${escape(uid)}", "token": "${escape(token)}", "new_password1": "…", "new_password2": "…"}</code></p>`
      + '<form method="post" action="/api/auth/password/reset/confirm/">'
      + `<input type="hidden" name="uid" value="${escape(uid)}"><input type="hidden" name="token" value="${escape(token)}">`
      + '<label for="p1">New password</label><input id="p1" name="new_password1" type="password" autocomplete="new-password" required>'
      + '<label for="p2">The new password again</label><input id="p2" name="new_password2" type="password" autocomplete="new-password" required>'
      + '<button type="submit">Set the new password</button></form>'
      + '<p>Afterwards, sign in with the new password: every earlier sign-in of the account has ended.</p>');
  });
}
