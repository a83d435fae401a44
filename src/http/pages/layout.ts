// The frame of every page, its stylesheet and its headers. Style comes only from the tenant's
// served stylesheet and script only from the pages' one served file (passkey-script.ts), loaded
// by the pages that carry a passkey part; no inline script or style, so the CSP needs no
// 'unsafe-inline' and no nonce.
import type { FastifyReply } from 'fastify';
import { html, SafeHtml } from './html.ts';
import type { PageContext } from './context.ts';
import { passkeyScriptPath } from './passkey-script.ts';

const DEFAULT_ACCENT = '#1f5fbf';

/** sRGB relative luminance (WCAG 2.x). */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export const contrast = (a: string, b: string): number => {
  const [x, y] = [luminance(a), luminance(b)].sort((m, n) => n - m) as [number, number];
  return (x + 0.05) / (y + 0.05);
};

/**
 * The text colour on an accent background: black or white, whichever contrasts more. For any
 * colour one of them reaches at least 4.58:1, so a button passes WCAG AA whatever the tenant picks.
 */
export const onAccent = (accent: string): string => (contrast(accent, '#000000') >= contrast(accent, '#ffffff') ? '#000000' : '#ffffff');

const BASE_CSS = `*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#1a1a1a;background:#f4f5f7}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;padding:1rem}
.skip{position:absolute;left:-999px;top:0;background:#fff;color:#1a1a1a;padding:.5rem 1rem;z-index:1}
.skip:focus{left:1rem;top:1rem}
.brand{display:flex;align-items:center;gap:.75rem;margin:1.5rem 0 1rem;font-weight:600;font-size:1.1rem}
.brand img{max-height:48px;max-width:160px}
main{width:100%;max-width:26rem;background:#fff;border-radius:8px;border-top:4px solid var(--accent);padding:1.5rem 1.5rem 1.75rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.5rem;margin:0 0 1rem;line-height:1.25}
p{margin:.5rem 0 1rem}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input{display:block;width:100%;font:inherit;padding:.55rem .6rem;border:1px solid #6b6f76;border-radius:4px;background:#fff;color:#1a1a1a}
input[aria-invalid=true]{border-color:#b3261e;border-width:2px}
.field-error{color:#b3261e;margin:.3rem 0 0;font-size:.95rem}
button{font:inherit;font-weight:600;cursor:pointer;margin-top:1.25rem;padding:.6rem 1.2rem;border-radius:4px;border:2px solid var(--accent);background:var(--accent);color:var(--on-accent);width:100%}
button.secondary{background:#fff;color:#1a1a1a;border-color:#6b6f76}
.buttons{display:flex;gap:.75rem}.buttons button{flex:1}
a{color:#1a4d99}
a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px;box-shadow:0 0 0 5px #fff}
.alert{border-left:4px solid #b3261e;background:#fdecea;color:#1a1a1a;padding:.6rem .8rem;margin:0 0 1rem}
.notice{border-left:4px solid #1a7f37;background:#e9f6ec;color:#1a1a1a;padding:.6rem .8rem;margin:0 0 1rem}
.links{margin:1.25rem 0 0;padding:0;list-style:none}.links li{margin:.35rem 0}
.scopes{padding-left:1.2rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
section{border-top:1px solid #d0d3d8;margin-top:1.25rem}
label.check{display:flex;gap:.6rem;align-items:flex-start;font-weight:400;margin:1rem 0 0}
label.check input{width:1.25rem;height:1.25rem;margin:.15rem 0 0;flex:none}
a.button{display:inline-block;font-weight:600;padding:.6rem 1.2rem;border-radius:4px;border:2px solid var(--accent);background:var(--accent);color:var(--on-accent);text-decoration:none}
.qr svg{display:block;width:220px;height:220px;margin:0 auto}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1.05rem}
.secret{letter-spacing:.05em}
.codes{columns:2;padding-left:1.6rem}.codes li{margin:.2rem 0}
.authenticators{padding-left:1.2rem}.meta{color:#4a4f57;font-size:.95rem}
a.button.secondary{background:#fff;color:#1a1a1a;border-color:#6b6f76}
.passkey-offer{margin-top:1.25rem}.passkey-offer p{margin:0 0 .5rem}
.passkeys{padding-left:1.2rem}.passkeys li{margin:.9rem 0}.passkeys form{margin:.4rem 0}
.passkeys form.inline{display:flex;flex-wrap:wrap;gap:.5rem}.passkeys form.inline label{flex-basis:100%;margin:.3rem 0 0;font-weight:400}
.passkeys form.inline input{flex:1;min-width:8rem;width:auto}.passkeys button{width:auto;margin-top:0;padding:.45rem .9rem}
footer{margin:1.5rem 0;font-size:.875rem;color:#4a4f57}
@media (max-width:480px){body{padding:.5rem}main{padding:1.25rem 1rem 1.5rem}}
`;

/** The tenant's stylesheet: its accent colour over the base. */
export function stylesheet(accent: string): string {
  const a = /^#[0-9a-f]{6}$/i.test(accent) ? accent.toLowerCase() : DEFAULT_ACCENT;
  return `:root{--accent:${a};--on-accent:${onAccent(a)}}\n${BASE_CSS}`;
}

export const stylesheetPath = (ctx: PageContext): string => `${ctx.prefix}/account/style.css`;

export function layout(ctx: PageContext, title: string, body: SafeHtml): string {
  const name = ctx.theme.displayName;
  // Only the passkey views write this attribute; a value the page shows is escaped text, which can name it but not make it one.
  const scripted = body.value.includes(' data-passkey');
  return html`<!doctype html>
<html lang="${ctx.locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} – ${name}</title><link rel="stylesheet" href="${stylesheetPath(ctx)}">${scripted ? html`<script src="${passkeyScriptPath()}" defer></script>` : ''}</head>
<body><a class="skip" href="#main">${ctx.t('skipToContent')}</a>
<header class="brand">${ctx.theme.logoUrl ? html`<img src="${ctx.theme.logoUrl}" alt="">` : ''}<span>${name}</span></header>
<main id="main"><h1>${title}</h1>
${body}</main>
<footer>${ctx.t('poweredBy')}</footer>
</body></html>
`.value;
}

/**
 * The headers of every page. `form-action` is left to each answer: the OpenID provider's forms
 * end in a redirect to the client, which a `form-action 'self'` would block in Chromium.
 */
export function pageHeaders(opts: { formAction?: 'self' | 'any' } = {}): Record<string, string> {
  const formAction = opts.formAction === 'any' ? '' : " form-action 'self';";
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http:;${formAction} base-uri 'none'; frame-ancestors 'none'`,
  };
}

/** Sends a drawn page with its headers. */
export function sendPage(reply: FastifyReply, page: string, status = 200, opts: { formAction?: 'self' | 'any' } = {}): FastifyReply {
  return reply.code(status).headers(pageHeaders(opts)).send(page);
}

/** A limit's answer (429 with Retry-After): `page` says how long to wait. */
export function sendRateLimited(reply: FastifyReply, page: string, retryAfter: number): FastifyReply {
  return sendPage(reply.header('retry-after', String(retryAfter)), page, 429);
}

export { SafeHtml };
