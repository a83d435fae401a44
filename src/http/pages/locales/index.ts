// The pages' languages. en.ts is the reference; each other language is one file typed as a
// Catalogue (same keys, so a missing one fails to compile) and one entry in LOCALES.
import { en } from './en.ts';
import { fr } from './fr.ts';

export type MessageKey = keyof typeof en;
export type Catalogue = { readonly [K in MessageKey]: string };

export const LOCALES = { en, fr } as const satisfies Record<string, Catalogue>;
export type Locale = keyof typeof LOCALES;
export const DEFAULT_LOCALE: Locale = 'en';

const isLocale = (tag: string): tag is Locale => Object.hasOwn(LOCALES, tag);

/** The primary language of a tag (`fr-CA` -> `fr`), lower-cased; undefined when it is not a tag. */
function primary(tag: string): string | undefined {
  const t = tag.trim().toLowerCase();
  return /^[a-z]{1,8}(-[a-z0-9]{1,8})*$/.test(t) ? t.split('-')[0] : undefined;
}

/**
 * The page's language: the first known one of `ui_locales` (OpenID Connect: space-separated,
 * in order of preference), else the best of Accept-Language by q-value, else English.
 */
export function chooseLocale(uiLocales: string | undefined, acceptLanguage: string | undefined): Locale {
  for (const tag of (uiLocales ?? '').slice(0, 500).split(/\s+/)) {
    const p = primary(tag);
    if (p && isLocale(p)) return p;
  }
  const ranked = (acceptLanguage ?? '').slice(0, 1000).split(',').map((part, i) => {
    const [tag = '', ...params] = part.split(';');
    const q = params.map((x) => x.trim().match(/^q=([01](\.\d{0,3})?)$/)).find(Boolean);
    return { tag: primary(tag), q: q ? Number(q[1]) : 1, i };
  }).filter((x) => x.tag && x.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranked) if (isLocale(r.tag!)) return r.tag;
  return DEFAULT_LOCALE;
}

/** A message of a locale with its `{name}` placeholders filled in. */
export function translate(locale: Locale, key: MessageKey, values: Record<string, string | number> = {}): string {
  return LOCALES[locale][key].replace(/\{(\w+)\}/g, (m, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : m));
}
