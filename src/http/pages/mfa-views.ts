// The second factor's pages: the code step of a sign-in, the Security page (enrolment), TOTP
// set-up with its QR code, the recovery codes shown once, and reauthentication. No script: each
// is a plain form.
import type { AuthenticatorView } from '../../core/index.ts';
import { html, SafeHtml, escapeHtml } from './html.ts';
import { layout } from './layout.ts';
import type { PageContext } from './context.ts';
import { alert, csrfField, field, notice, type FieldMessages } from './views.ts';

const url = (ctx: PageContext, page: string) => `${ctx.prefix}/account/${page}`;
const hidden = (fields: Record<string, string | undefined>) =>
  Object.entries(fields).filter(([, v]) => v !== undefined).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value!}">`);

export interface MfaCodeView {
  /** Where the code form posts. */
  action: string;
  error?: string;
  /** Offer "trust this browser" for this many days; 0 or undefined: no checkbox. */
  trustDays?: number;
  /** Carried through the form (the standalone page's `next`). */
  hidden?: Record<string, string | undefined>;
  /** Where "cancel" goes (the sign-in form). */
  cancelHref: string;
  /** Drawn under the form (extensions.ts: a passkey instead of a code). */
  extras?: readonly SafeHtml[];
}

/** The sign-in's second step. Posts `code`, `trust` (`yes` when ticked) and `csrf_token`. */
export function renderMfaCode(ctx: PageContext, v: MfaCodeView): string {
  const errors: FieldMessages = v.error ? { code: [v.error] } : {};
  return layout(ctx, ctx.t('mfaTitle'), html`<p>${ctx.t('mfaIntro', { tenant: ctx.theme.displayName })}</p>
<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}${hidden(v.hidden ?? {})}
${field({ name: 'code', label: ctx.t('mfaCode'), autocomplete: 'one-time-code', inputmode: 'text', autofocus: true }, errors)}
${v.trustDays ? html`<label class="check" for="f-trust"><input id="f-trust" type="checkbox" name="trust" value="yes"> <span>${ctx.t('mfaTrust', { days: v.trustDays })}</span></label>` : ''}
<button type="submit">${ctx.t('mfaButton')}</button></form>${v.extras ?? ''}
<ul class="links"><li><a href="${v.cancelHref}">${ctx.t('mfaCancel')}</a></li></ul>`);
}

/** After a sign-in by recovery code: how many are left, and onwards. */
export function renderRecoveryUsed(ctx: PageContext, v: { left: number; next: string }): string {
  return layout(ctx, ctx.t('mfaRecoveryUsedTitle'), html`${notice(ctx.t('mfaRecoveryUsed', { left: v.left }))}
${v.left <= 3 ? html`<p>${ctx.t('mfaRecoveryLow')}</p>` : ''}
<ul class="links"><li><a href="${v.next}">${ctx.t('continueLink')}</a></li><li><a href="${url(ctx, 'security/')}">${ctx.t('securityTitle')}</a></li></ul>`);
}

export interface SecurityView {
  username: string;
  /** Whether TOTP is on. */
  totp: boolean;
  recovery?: { total: number; unused: number };
  authenticators: AuthenticatorView[];
  /** A done step to say (TOTP on, off). */
  done?: string;
  /** A change that was refused (a passkey's name), said as an alert. */
  error?: string;
  /** The tenant requires a second factor and the user has none yet. */
  mustEnrol: boolean;
  /** Sections drawn by other modules (passkeys), in their own <section>. */
  sections: SafeHtml[];
}

/** The Security page: what protects the account, and the buttons to change it. */
export function renderSecurity(ctx: PageContext, v: SecurityView): string {
  const date = (ms: number) => new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'medium' }).format(new Date(ms));
  const typeName = (a: AuthenticatorView) => a.name ?? ctx.t(a.type === 'totp' ? 'typeTotp' : a.type === 'recovery_codes' ? 'typeRecovery' : 'typeWebauthn');
  // Passkeys are listed, with their buttons, in their own section (passkey-views.ts).
  const others = v.authenticators.filter((a) => a.type !== 'webauthn');
  const list = others.length
    ? html`<ul class="authenticators">${others.map((a) => html`<li><strong>${typeName(a)}</strong> <span class="meta">${ctx.t('authenticatorAdded', { date: date(a.createdAt) })}, ${a.lastUsedAt ? ctx.t('authenticatorUsed', { date: date(a.lastUsedAt) }) : ctx.t('authenticatorNeverUsed')}</span></li>`)}</ul>`
    : html`<p>${ctx.t(v.authenticators.length ? 'onlyPasskeys' : 'noAuthenticators')}</p>`;
  return layout(ctx, ctx.t('securityTitle'), html`${v.mustEnrol ? html`<p class="alert" role="alert">${ctx.t('mfaEnrolRequired')}</p>` : ''}${alert(v.error)}${v.done ? notice(v.done) : ''}
<p>${ctx.t('securityIntro')}</p>
<section aria-labelledby="s-list"><h2 id="s-list">${ctx.t('authenticatorsTitle')}</h2>${list}</section>
<section aria-labelledby="s-totp"><h2 id="s-totp">${ctx.t('totpTitle')}</h2>
${v.totp
    ? html`<p>${ctx.t('totpOn')}</p><form method="post" action="${url(ctx, 'security/totp/off/')}">${csrfField(ctx)}<button type="submit" class="secondary">${ctx.t('totpTurnOffButton')}</button></form>`
    : html`<p>${ctx.t('totpOff')}</p><p><a class="button" href="${url(ctx, 'security/totp/')}">${ctx.t('totpSetUpButton')}</a></p>`}</section>
<section aria-labelledby="s-recovery"><h2 id="s-recovery">${ctx.t('recoveryTitle')}</h2>
${v.recovery
    ? html`<p>${ctx.t('recoveryLeft', { left: v.recovery.unused, total: v.recovery.total })}</p><form method="post" action="${url(ctx, 'security/recovery-codes/')}">${csrfField(ctx)}<button type="submit" class="secondary">${ctx.t('recoveryRegenerateButton')}</button></form>`
    : html`<p>${ctx.t('recoveryNone')}</p>`}</section>
${v.sections.map((s) => html`<section>${s}</section>`)}
<ul class="links">${v.mustEnrol ? '' : html`<li><a href="${url(ctx, '')}">${ctx.t('accountHome')}</a></li>`}<li><a href="${url(ctx, 'logout/')}">${ctx.t('signOutTitle')}</a></li></ul>`);
}

/** The QR code's SVG (made by the core from the otpauth:// URI) as an image with a name. */
function qrImage(ctx: PageContext, svg: string): SafeHtml {
  const named = svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(ctx.t('totpQrLabel'))}" focusable="false" `);
  return new SafeHtml(named.startsWith('<svg role="img"') ? named : '');
}

/** TOTP set-up: the QR code, the key as text, and the code to confirm it. Posts `code`. */
export function renderTotpSetup(ctx: PageContext, v: { action: string; secret: string; svg: string; error?: string }): string {
  const errors: FieldMessages = v.error ? { code: [v.error] } : {};
  const grouped = v.secret.replace(/(.{4})(?=.)/g, '$1 ');
  return layout(ctx, ctx.t('totpSetupTitle'), html`<p>${ctx.t('totpSetupIntro')}</p>
<div class="qr">${qrImage(ctx, v.svg)}</div>
<p>${ctx.t('totpSecretIntro')}</p><p><code class="secret" data-secret="${v.secret}">${grouped}</code></p>
<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}
${field({ name: 'code', label: ctx.t('totpCode'), autocomplete: 'one-time-code', inputmode: 'numeric', autofocus: true }, errors)}
<button type="submit">${ctx.t('totpConfirmButton')}</button></form>
<ul class="links"><li><a href="${url(ctx, 'security/')}">${ctx.t('backToSecurity')}</a></li></ul>`);
}

/** Recovery codes, shown this once. */
export function renderRecoveryCodes(ctx: PageContext, v: { codes: readonly string[]; done?: string }): string {
  return layout(ctx, ctx.t('recoveryCodesTitle'), html`${v.done ? notice(v.done) : ''}<p>${ctx.t('recoveryCodesIntro')}</p>
<ol class="codes">${v.codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
<p><a href="${url(ctx, 'security/')}">${ctx.t('recoveryCodesDone')}</a></p>`);
}

/** Reauthentication: the password, or (with a second factor) a code. Both post `next`. */
export function renderReauthenticate(ctx: PageContext, v: { action: string; next: string; secondFactor: boolean; passkeyHref?: string; fields?: FieldMessages; error?: string }): string {
  const f = v.fields ?? {};
  return layout(ctx, ctx.t('reauthTitle'), html`<p>${ctx.t('reauthIntro')}</p>${alert(v.error)}
<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}${hidden({ next: v.next, method: 'password' })}
${field({ name: 'password', label: ctx.t('password'), type: 'password', autocomplete: 'current-password', autofocus: !(f.code ?? []).length }, f)}
<button type="submit">${ctx.t('reauthPasswordButton')}</button></form>
${v.secondFactor ? html`<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}${hidden({ next: v.next, method: 'code' })}
${field({ name: 'code', label: ctx.t('mfaCode'), autocomplete: 'one-time-code', inputmode: 'text', autofocus: (f.code ?? []).length > 0 }, f)}
<button type="submit" class="secondary">${ctx.t('reauthCodeButton')}</button></form>` : ''}
${v.passkeyHref ? html`<p data-passkey-offer hidden><a class="button secondary" href="${v.passkeyHref}">${ctx.t('reauthPasskeyLink')}</a></p>` : ''}
<ul class="links"><li><a href="${url(ctx, 'security/')}">${ctx.t('backToSecurity')}</a></li></ul>`);
}
