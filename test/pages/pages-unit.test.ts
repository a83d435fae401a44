// The hosted pages' building blocks, without a server: every value drawn into a page is
// escaped (a tenant's display name, a typed login, a client's name cannot become markup), the
// language follows ui_locales, then Accept-Language, then English, every catalogue has the
// reference's keys and placeholders, the theme settings refuse what is not a URL or a colour,
// and a button on any accent colour passes WCAG AA.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html } from '../../src/http/pages/html.ts';
import { chooseLocale, LOCALES, translate } from '../../src/http/pages/locales/index.ts';
import { en } from '../../src/http/pages/locales/en.ts';
import { contrast, onAccent, stylesheet } from '../../src/http/pages/layout.ts';
import { renderConsent, renderError, renderSignIn } from '../../src/http/pages/views.ts';
import type { PageContext } from '../../src/http/pages/context.ts';
import { parseSetting, resolveSettings } from '../../src/core/settings/settings-schema.ts';

const EVIL = `"><script>alert(1)</script><img src=x onerror=alert(1)>'\``;

function ctx(over: Partial<PageContext['theme']> = {}, locale: 'en' | 'fr' = 'en'): PageContext {
  return {
    tenant: { pk: 2, id: 'x', name: 'acme', displayName: EVIL, isActive: true, createdAt: 0, updatedAt: 0 } as unknown as PageContext['tenant'],
    locale, csrfToken: 'tok"en', prefix: '/tenants/acme',
    theme: { displayName: EVIL, logoUrl: '', accent: '', ...over },
    t: (k, v) => translate(locale, k, v),
  };
}

describe('escaping', () => {
  it('escapes the five HTML characters and the backquote', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&\`</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;');
  });
  it('html`` escapes every value but what html`` itself returned, and draws arrays and empty values', () => {
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(html`<p title="${'"x"'}">${inner}${['<', html`<br>`]}${undefined}${null}${false}${0}</p>`.value,
      '<p title="&quot;x&quot;"><b>&lt;i&gt;</b>&lt;<br>0</p>');
  });
  it('a hostile display name, login hint, error, client name and scope stay text on every page', () => {
    const pages = [
      renderSignIn(ctx(), { action: '/a', error: EVIL, loginHint: EVIL }),
      renderConsent(ctx(), { action: '/a', clientName: EVIL, scopes: ['openid', EVIL] }),
      renderError(ctx(), { status: 400, title: EVIL, message: EVIL }),
      renderSignIn(ctx({ logoUrl: `https://x.test/"onload="alert(1)` }), { action: '/a' }),
    ];
    for (const page of pages) {
      assert.doesNotMatch(page, /<script|<img src=x|"onload=/);
      assert.equal((page.match(/<script/g) ?? []).length, 0);
    }
    assert.match(pages[0]!, /value="&quot;&gt;&lt;script&gt;/);
    assert.match(pages[0]!, /name="csrf_token" value="tok&quot;en"/);
  });
});

describe('locale choice', () => {
  it('ui_locales wins, in its order, by primary language', () => {
    assert.equal(chooseLocale('de fr-CA en', 'en'), 'fr');
    assert.equal(chooseLocale('en fr', 'fr'), 'en');
  });
  it('without a known ui_locales, Accept-Language by q-value, then by order', () => {
    assert.equal(chooseLocale(undefined, 'de;q=1, fr;q=0.8, en;q=0.5'), 'fr');
    assert.equal(chooseLocale('xx', 'en;q=0.4, fr-FR;q=0.9'), 'fr');
    assert.equal(chooseLocale(undefined, 'fr, en'), 'fr');
    assert.equal(chooseLocale(undefined, 'en, fr'), 'en');
    assert.equal(chooseLocale(undefined, 'fr;q=0'), 'en', 'q=0 means not acceptable');
  });
  it('English when nothing fits or the headers are garbage', () => {
    for (const [ui, al] of [[undefined, undefined], ['', ''], ['de', 'es, it'], ['<x>', ';;;,,q=9'], ['a'.repeat(5000), 'b'.repeat(5000)]] as const) {
      assert.equal(chooseLocale(ui, al), 'en');
    }
  });
});

describe('catalogues', () => {
  const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const [name, cat] of Object.entries(LOCALES)) {
    it(`${name}: the reference's keys, each non-empty with the same placeholders`, () => {
      assert.deepEqual(Object.keys(cat).sort(), Object.keys(en).sort());
      for (const [k, v] of Object.entries(cat)) {
        assert.ok(v.trim().length > 0, `${name}.${k} is empty`);
        assert.deepEqual(placeholders(v), placeholders(en[k as keyof typeof en]), `${name}.${k} placeholders`);
      }
    });
  }
  it('French is really French (not a copy of English)', () => {
    const same = Object.keys(en).filter((k) => en[k as keyof typeof en] === LOCALES.fr[k as keyof typeof en]);
    assert.deepEqual(same, []);
    assert.equal(translate('fr', 'rateLimited', { seconds: 3 }), 'Trop de tentatives. Attendez 3 secondes, puis réessayez.');
  });
  it('a page is drawn in its locale, with lang set', () => {
    const page = renderSignIn(ctx({}, 'fr'), { action: '/a' });
    assert.match(page, /<html lang="fr">/);
    assert.match(page, /Mot de passe/);
  });
});

describe('theme settings', () => {
  it('logo_url takes an absolute http(s) URL or empty, nothing else', () => {
    for (const ok of ['', 'https://cdn.example.com/logo.svg', 'http://intranet.test/l.png']) assert.ok('value' in parseSetting('logo_url', ok), ok);
    for (const bad of ['javascript:alert(1)', 'data:image/png;base64,AAAA', '/logo.png', 'ftp://x.test/l', 'https://user:pw@x.test/l', 'not a url', `https://x.test/${'a'.repeat(600)}`]) {
      assert.ok('error' in parseSetting('logo_url', bad), bad);
    }
  });
  it('accent_color takes #rrggbb (stored lower-case) or empty', () => {
    assert.deepEqual(parseSetting('accent_color', '#A1B2C3'), { value: '#a1b2c3' });
    assert.deepEqual(parseSetting('accent_color', ''), { value: '' });
    for (const bad of ['red', '#abc', '#12345g', '#1234567', 'rgb(1,2,3)', '#123456;}body{x']) assert.ok('error' in parseSetting('accent_color', bad), bad);
  });
  it('a bad stored value falls back to the default', () => {
    const s = resolveSettings({ accent_color: 'url(x)', logo_url: 'javascript:x' });
    assert.deepEqual([s.accent_color, s.logo_url], ['', '']);
  });
  it('the button text on any accent reaches 4.5:1 (WCAG AA)', () => {
    for (let i = 0; i < 4096; i++) {
      const hex = `#${[i >> 8, (i >> 4) & 15, i & 15].map((n) => (n * 17).toString(16).padStart(2, '0')).join('')}`;
      assert.ok(contrast(hex, onAccent(hex)) >= 4.5, hex);
    }
  });
  it('the stylesheet carries the accent, or the default for anything but #rrggbb', () => {
    assert.match(stylesheet('#ffcc00'), /--accent:#ffcc00;--on-accent:#000000/);
    assert.match(stylesheet('}</style>'), /--accent:#1f5fbf;--on-accent:#ffffff/);
  });
});
