// The passkey parts of the pages: the ceremony page (a form that asks the browser for a passkey,
// or for a new one, through assets/passkeys.js), the offers under the sign-in forms, and the
// Security page's list of passkeys with rename and remove. Without JavaScript the offers and the
// ceremony's button stay hidden, and the ceremony page says why it cannot go on.
import type { AuthenticatorView } from '../../core/index.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';
import type { PageContext } from './context.ts';
import { alert, csrfField, field, type FieldMessages } from './views.ts';

const url = (ctx: PageContext, page: string) => `${ctx.prefix}/account/${page}`;
const hidden = (fields: Record<string, string | undefined>) =>
  Object.entries(fields).filter(([, v]) => v !== undefined).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value!}">`);

export interface PasskeyCeremonyView {
  title: string;
  intro: string;
  /** Where the form posts the browser's answer (`credential`, JSON). */
  action: string;
  /** `get`: use a passkey (navigator.credentials.get); `create`: make one. */
  mode: 'get' | 'create';
  /** The options the core made for this ceremony (PublicKeyCredential*OptionsJSON). */
  options: unknown;
  button: string;
  hidden?: Record<string, string | undefined>;
  error?: string;
  /** A new passkey's name field (create). */
  name?: { value: string; errors?: FieldMessages };
  /** Offer "trust this browser" for this many days (the sign-in's second step). */
  trustDays?: number;
  back: { href: string; label: string };
  /** What the page says without JavaScript, or in a browser without passkeys (by default: use the password or a code). */
  noScript?: string;
  unsupported?: string;
}

/** A page whose form asks the browser for a passkey, then posts its answer as `credential`. */
export function renderPasskeyCeremony(ctx: PageContext, v: PasskeyCeremonyView): string {
  return layout(ctx, v.title, html`<p>${v.intro}</p>${alert(v.error)}
<noscript><p class="alert">${v.noScript ?? ctx.t('passkeyNoScript')}</p></noscript>
<form method="post" action="${v.action}" data-passkey="${v.mode}" data-options="${JSON.stringify(v.options)}" data-cancelled="${ctx.t('passkeyCancelled')}" data-unsupported="${v.unsupported ?? ctx.t('passkeyUnsupported')}">${csrfField(ctx)}${hidden(v.hidden ?? {})}<input type="hidden" name="credential" value="">
${v.name ? field({ name: 'name', label: ctx.t('passkeyName'), autocomplete: 'off', value: v.name.value, autofocus: true }, v.name.errors) : ''}
${v.trustDays ? html`<label class="check" for="f-trust"><input id="f-trust" type="checkbox" name="trust" value="yes"> <span>${ctx.t('mfaTrust', { days: v.trustDays })}</span></label>` : ''}
<p class="alert" role="alert" data-passkey-status hidden></p>
<button type="submit" hidden>${v.button}</button></form>
<ul class="links"><li><a href="${v.back.href}">${v.back.label}</a></li></ul>`);
}

/** Under a sign-in (or the sign-up) form: a link to the passkey page, shown only when the browser can use one. */
export function passkeyOffer(ctx: PageContext, href: string, step: 'password' | 'mfa' | 'signup'): SafeHtml {
  if (step === 'mfa') return html`<p class="passkey-offer" data-passkey-offer hidden><a href="${href}">${ctx.t('passkeyInstead')}</a></p>`;
  return html`<div class="passkey-offer" data-passkey-offer hidden><p>${ctx.t('passkeyOr')}</p><a class="button secondary" href="${href}">${ctx.t(step === 'signup' ? 'passkeySignUpOffer' : 'passkeySignIn')}</a></div>`;
}

export interface PasskeySignUpView {
  action: string;
  error?: string;
  fields?: FieldMessages;
  values?: { username?: string; email?: string };
}

/**
 * A sign-up by passkey, its first page: the username and the address (required: it is how the
 * person gets back in without a password). Posts `username`, `email` and `csrf_token`; the
 * passkey is created on the next page. It says, without JavaScript, that the next page needs it.
 */
export function renderPasskeySignUp(ctx: PageContext, v: PasskeySignUpView): string {
  const f = v.fields ?? {};
  const focus = ['username', 'email'].find((n) => (f[n] ?? []).length > 0) ?? 'username';
  return layout(ctx, ctx.t('passkeySignUpTitle'), html`<p>${ctx.t('passkeySignUpIntro', { tenant: ctx.theme.displayName })}</p>${alert(v.error)}
<noscript><p class="alert">${ctx.t('passkeySignUpNoScript')}</p></noscript>
<form method="post" action="${v.action}" novalidate>${csrfField(ctx)}
${field({ name: 'username', label: ctx.t('username'), autocomplete: 'username', value: v.values?.username, autofocus: focus === 'username' }, f)}
${field({ name: 'email', label: ctx.t('email'), type: 'email', autocomplete: 'email', value: v.values?.email, autofocus: focus === 'email' }, f)}
<button type="submit">${ctx.t('passkeySignUpContinue')}</button></form>
<ul class="links"><li><a href="${url(ctx, 'signup/')}">${ctx.t('passkeySignUpBack')}</a></li><li><a href="${url(ctx, 'login/')}">${ctx.t('haveAccountLink')}</a></li></ul>`);
}

/** The Security page's passkeys: each with its name, dates, a rename and a remove form; and "add". */
export function passkeySection(ctx: PageContext, passkeys: readonly AuthenticatorView[]): SafeHtml {
  const date = (ms: number) => new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'medium' }).format(new Date(ms));
  const item = (a: AuthenticatorView) => {
    const name = a.name ?? ctx.t('typeWebauthn');
    const used = a.lastUsedAt ? ctx.t('authenticatorUsed', { date: date(a.lastUsedAt) }) : ctx.t('authenticatorNeverUsed');
    return html`<li><strong>${name}</strong> <span class="meta">${ctx.t('authenticatorAdded', { date: date(a.createdAt) })}, ${used}${a.passwordless ? html`, ${ctx.t('passkeyAlone')}` : ''}</span>
<form method="post" action="${url(ctx, 'security/passkeys/rename/')}" class="inline">${csrfField(ctx)}${hidden({ id: String(a.id) })}<label for="f-pk-${a.id}">${ctx.t('passkeyRenameLabel', { name })}</label><input id="f-pk-${a.id}" name="name" type="text" value="${name}" required maxlength="100" autocomplete="off" spellcheck="false"><button type="submit" class="secondary">${ctx.t('passkeyRenameButton')}</button></form>
<form method="post" action="${url(ctx, 'security/passkeys/remove/')}">${csrfField(ctx)}${hidden({ id: String(a.id) })}<button type="submit" class="secondary">${ctx.t('passkeyRemoveButton', { name })}</button></form></li>`;
  };
  return html`<h2 id="s-passkeys">${ctx.t('passkeysTitle')}</h2><p>${ctx.t('passkeysIntro')}</p>
${passkeys.length ? html`<ul class="passkeys" aria-labelledby="s-passkeys">${passkeys.map(item)}</ul>` : html`<p>${ctx.t('passkeysNone')}</p>`}
<noscript><p>${ctx.t('passkeyNoScript')}</p></noscript>
<p data-passkey-offer hidden><a class="button" href="${url(ctx, 'security/passkeys/add/')}">${ctx.t('passkeyAddButton')}</a></p>`;
}
