// The pages, each a function of the context and what it shows. Each returns the whole document.
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';
import type { PageContext } from './context.ts';
import type { MessageKey } from './locales/index.ts';

/** Per-field messages, shown under the field and tied to it with aria-describedby. */
export type FieldMessages = Record<string, readonly string[] | undefined>;

export interface FieldSpec {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password';
  /** A hint for the on-screen keyboard (a code field). */
  inputmode?: 'numeric' | 'text';
  autocomplete: string;
  value?: string;
  required?: boolean;
  autofocus?: boolean;
}

export function field(f: FieldSpec, errors: FieldMessages = {}): SafeHtml {
  const id = `f-${f.name}`;
  const errs = errors[f.name] ?? [];
  const described = errs.length ? `${id}-error` : undefined;
  return html`<label for="${id}">${f.label}</label>
<input id="${id}" name="${f.name}" type="${f.type ?? 'text'}" autocomplete="${f.autocomplete}"${f.value ? html` value="${f.value}"` : ''}${f.required === false ? '' : html` required`}${f.autofocus ? html` autofocus` : ''}${f.inputmode ? html` inputmode="${f.inputmode}"` : ''}${described ? html` aria-invalid="true" aria-describedby="${described}"` : ''}${f.type === 'password' ? '' : html` spellcheck="false" autocapitalize="none"`}>
${errs.length ? html`<p class="field-error" id="${described}">${errs.join(' ')}</p>` : ''}`;
}

/** The field that takes the focus: the first one with a message, else the first. */
const focusOf = (fields: FieldMessages, order: readonly string[]) => order.find((n) => (fields[n] ?? []).length > 0) ?? order[0];

export const csrfField = (ctx: PageContext) => html`<input type="hidden" name="csrf_token" value="${ctx.csrfToken}">`;
export const alert = (message: string | undefined) => (message ? html`<p class="alert" role="alert">${message}</p>` : '');
export const notice = (message: string) => html`<p class="notice" role="status">${message}</p>`;
const url = (ctx: PageContext, page: string) => `${ctx.prefix}/account/${page}`;

export interface SignInView {
  /** Where the form posts (the OpenID provider's interaction, or the standalone page). */
  action: string;
  /** A message shown above the form (a wrong password, a rate limit): text, escaped. */
  error?: string;
  /** The name to fill in (OpenID Connect `login_hint`, or what was typed before). */
  loginHint?: string;
  /** Offer the sign-up link (the tenant's `registration_enabled`); shown unless false. */
  signUp?: boolean;
  /** A hidden `next` to carry through the form (the standalone page's return path). */
  next?: string;
  /** Drawn under the form (extensions.ts: a passkey button). */
  extras?: readonly SafeHtml[];
  /** One button per enabled upstream identity provider: its name and where it starts (REST-auth's login URL). */
  providers?: readonly { name: string; href: string }[];
}

/** Sign in. Posts `login`, `password` and `csrf_token` (and `next` when given). */
export function renderSignIn(ctx: PageContext, v: SignInView): string {
  return layout(ctx, ctx.t('signInTitle'), html`<p>${ctx.t('signInIntro', { tenant: ctx.theme.displayName })}</p>
${alert(v.error)}<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}${v.next ? html`<input type="hidden" name="next" value="${v.next}">` : ''}
${field({ name: 'login', label: ctx.t('usernameOrEmail'), autocomplete: 'username', value: v.loginHint, autofocus: !v.loginHint })}
${field({ name: 'password', label: ctx.t('password'), type: 'password', autocomplete: 'current-password', autofocus: !!v.loginHint })}
<button type="submit">${ctx.t('signInButton')}</button></form>${v.extras ?? ''}
${v.providers?.length ? html`<section class="providers" aria-label="${ctx.t('orUpstream')}"><p>${ctx.t('orUpstream')}</p><ul class="links">${v.providers.map((p) => html`<li><a class="button" href="${p.href}">${ctx.t('signInWith', { provider: p.name })}</a></li>`)}</ul></section>` : ''}
<ul class="links"><li><a href="${url(ctx, 'password/forgot/')}">${ctx.t('forgotLink')}</a></li>${v.signUp === false ? '' : html`<li><a href="${url(ctx, 'signup/')}">${ctx.t('signUpLink')}</a></li>`}</ul>`);
}

export interface ConsentView {
  action: string;
  clientName: string;
  scopes: readonly string[];
}

const KNOWN_SCOPES: Record<string, MessageKey> = {
  openid: 'scope_openid', profile: 'scope_profile', email: 'scope_email', offline_access: 'scope_offline_access', groups: 'scope_groups',
};

/** Consent. Posts `csrf_token` and `decision` = `allow` or `deny`. */
export function renderConsent(ctx: PageContext, v: ConsentView): string {
  const items = v.scopes.map((s) => html`<li>${Object.hasOwn(KNOWN_SCOPES, s) ? ctx.t(KNOWN_SCOPES[s]!) : ctx.t('scopeOther', { scope: s })}</li>`);
  return layout(ctx, ctx.t('consentTitle'), html`<p>${ctx.t('consentIntro', { client: v.clientName, tenant: ctx.theme.displayName })}</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${v.action}">${csrfField(ctx)}
<div class="buttons"><button type="submit" name="decision" value="deny" class="secondary">${ctx.t('consentDeny')}</button><button type="submit" name="decision" value="allow">${ctx.t('consentAllow')}</button></div></form>`);
}

export interface ErrorView {
  status: number;
  title: string;
  message: string;
  /** A link onwards (by default back to the tenant's sign-in page). */
  link?: { href: string; label: string } | false;
}

/** An error page: what happened, in words. The caller sends it with `status`. */
export function renderError(ctx: PageContext, v: ErrorView): string {
  const link = v.link === undefined ? { href: url(ctx, 'login/'), label: ctx.t('backToSignIn') } : v.link;
  return layout(ctx, v.title, html`<p>${v.message}</p>${link ? html`<p><a href="${link.href}">${link.label}</a></p>` : ''}`);
}

/** A limit reached (a page that begins a sign-in counts it per address): wait, then try again. */
export function renderRateLimited(ctx: PageContext, seconds: number): string {
  return renderError(ctx, { status: 429, title: ctx.t('unavailableTitle'), message: ctx.t('rateLimited', { seconds }) });
}

export function renderSignedOut(ctx: PageContext): string {
  return layout(ctx, ctx.t('signedOutTitle'), html`${notice(ctx.t('signedOut'))}<p><a href="${url(ctx, 'login/')}">${ctx.t('signInAgain')}</a></p>`);
}

export function renderSignOut(ctx: PageContext, v: { action: string }): string {
  return layout(ctx, ctx.t('signOutTitle'), html`<p>${ctx.t('signOutConfirm', { tenant: ctx.theme.displayName })}</p>
<form method="post" action="${v.action}">${csrfField(ctx)}<button type="submit">${ctx.t('signOutButton')}</button></form>`);
}

/**
 * The OpenID provider's RP-initiated logout question. Posts the provider's own hidden fields
 * (`xsrf`) to `action`; `logout=yes` signs out, the other button stays signed in.
 */
export function renderLogoutConfirm(ctx: PageContext, v: { action: string; hidden: Record<string, string>; clientName?: string }): string {
  const hidden = Object.entries(v.hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return layout(ctx, ctx.t('signOutTitle'), html`${v.clientName ? html`<p>${ctx.t('signOutClient', { client: v.clientName, tenant: ctx.theme.displayName })}</p>` : ''}<p>${ctx.t('signOutConfirm', { tenant: ctx.theme.displayName })}</p>
<form method="post" action="${v.action}">${hidden}
<div class="buttons"><button type="submit" class="secondary">${ctx.t('staySignedIn')}</button><button type="submit" name="logout" value="yes">${ctx.t('signOutButton')}</button></div></form>`);
}

export function renderSignedIn(ctx: PageContext, v: { username: string }): string {
  return layout(ctx, ctx.t('signedInTitle'), html`<p>${ctx.t('signedInAs', { username: v.username })}</p>
<ul class="links"><li><a href="${url(ctx, 'security/')}">${ctx.t('securityLink')}</a></li><li><a href="${url(ctx, 'logout/')}">${ctx.t('signOutTitle')}</a></li></ul>`);
}

export interface SignUpView {
  action: string;
  error?: string;
  fields?: FieldMessages;
  values?: { username?: string; email?: string };
  /** Drawn under the form (extensions.ts: "sign up with a passkey instead"). */
  extras?: readonly SafeHtml[];
}

export function renderSignUp(ctx: PageContext, v: SignUpView): string {
  const f = v.fields ?? {};
  const focus = focusOf(f, ['username', 'email', 'password1', 'password2']);
  return layout(ctx, ctx.t('signUpTitle'), html`${alert(v.error)}<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}
${field({ name: 'username', label: ctx.t('username'), autocomplete: 'username', value: v.values?.username, autofocus: focus === 'username' }, f)}
${field({ name: 'email', label: ctx.t('emailOptional'), type: 'email', autocomplete: 'email', value: v.values?.email, required: false, autofocus: focus === 'email' }, f)}
${field({ name: 'password1', label: ctx.t('password'), type: 'password', autocomplete: 'new-password', autofocus: focus === 'password1' }, f)}
${field({ name: 'password2', label: ctx.t('passwordAgain'), type: 'password', autocomplete: 'new-password', autofocus: focus === 'password2' }, f)}
<button type="submit">${ctx.t('signUpButton')}</button></form>${v.extras ?? ''}
<ul class="links"><li><a href="${url(ctx, 'login/')}">${ctx.t('haveAccountLink')}</a></li></ul>`);
}

/** A page that only says something (a done step, a closed door), with a link onwards. */
export function renderMessage(ctx: PageContext, v: { title: string; message: string; ok?: boolean; link?: { href: string; label: string } }): string {
  const link = v.link ?? { href: url(ctx, 'login/'), label: ctx.t(v.ok ? 'signInTitle' : 'backToSignIn') };
  return layout(ctx, v.title, html`${v.ok ? notice(v.message) : html`<p>${v.message}</p>`}<p><a href="${link.href}">${link.label}</a></p>`);
}

export function renderForgot(ctx: PageContext, v: { action: string; error?: string; fields?: FieldMessages; email?: string }): string {
  return layout(ctx, ctx.t('forgotTitle'), html`<p>${ctx.t('forgotIntro')}</p>${alert(v.error)}
<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}
${field({ name: 'email', label: ctx.t('email'), type: 'email', autocomplete: 'email', value: v.email, autofocus: true }, v.fields)}
<button type="submit">${ctx.t('forgotButton')}</button></form>
<ul class="links"><li><a href="${url(ctx, 'login/')}">${ctx.t('backToSignIn')}</a></li></ul>`);
}

export function renderReset(ctx: PageContext, v: { action: string; error?: string; fields?: FieldMessages }): string {
  const f = v.fields ?? {};
  const focus = focusOf(f, ['new_password1', 'new_password2']);
  return layout(ctx, ctx.t('resetTitle'), html`<p>${ctx.t('resetIntro')}</p>${alert(v.error)}
<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}
${field({ name: 'new_password1', label: ctx.t('newPassword'), type: 'password', autocomplete: 'new-password', autofocus: focus === 'new_password1' }, f)}
${field({ name: 'new_password2', label: ctx.t('newPasswordAgain'), type: 'password', autocomplete: 'new-password', autofocus: focus === 'new_password2' }, f)}
<button type="submit">${ctx.t('resetButton')}</button></form>`);
}
