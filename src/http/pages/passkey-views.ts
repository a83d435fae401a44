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
}

/** A page whose form asks the browser for a passkey, then posts its answer as `credential`. */
export function renderPasskeyCeremony(ctx: PageContext, v: PasskeyCeremonyView): string {
  return layout(ctx, v.title, html`<p>${v.intro}</p>${alert(v.error)}
<noscript><p class="alert">${ctx.t('passkeyNoScript')}</p></noscript>
<form method="post" action="${v.action}" data-passkey="${v.mode}" data-options="${JSON.stringify(v.options)}" data-cancelled="${ctx.t('passkeyCancelled')}" data-unsupported="${ctx.t('passkeyUnsupported')}">${csrfField(ctx)}${hidden(v.hidden ?? {})}<input type="hidden" name="credential" value="">
${v.name ? field({ name: 'name', label: ctx.t('passkeyName'), autocomplete: 'off', value: v.name.value, autofocus: true }, v.name.errors) : ''}
${v.trustDays ? html`<label class="check" for="f-trust"><input id="f-trust" type="checkbox" name="trust" value="yes"> <span>${ctx.t('mfaTrust', { days: v.trustDays })}</span></label>` : ''}
<p class="alert" role="alert" data-passkey-status hidden></p>
<button type="submit" hidden>${v.button}</button></form>
<ul class="links"><li><a href="${v.back.href}">${v.back.label}</a></li></ul>`);
}

/** Under a sign-in form: a link to the passkey page, shown only when the browser can use one. */
export function passkeyOffer(ctx: PageContext, href: string, step: 'password' | 'mfa'): SafeHtml {
  return step === 'password'
    ? html`<div class="passkey-offer" data-passkey-offer hidden><p>${ctx.t('passkeyOr')}</p><a class="button secondary" href="${href}">${ctx.t('passkeySignIn')}</a></div>`
    : html`<p class="passkey-offer" data-passkey-offer hidden><a href="${href}">${ctx.t('passkeyInstead')}</a></p>`;
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
