// Debian's python3-authlib as a relying party: OAuth2Session with PKCE (S256) completes the code
// flow against the provider, a requests.Session playing the browser (no JavaScript: the sign-in
// and consent forms posted as served); PyJWT then verifies the ID token and the access token with
// the keys from the discovered jwks_uri, ES256 only, the issuer named, and refuses a tampered one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { python, pythonSkip } from '../interop/support.ts';
import { oidcApp, PASSWORD, REDIRECT, type OidcApp } from './support.ts';

const SCRIPT = String.raw`
import json, os, re, html
import requests, jwt
from authlib.integrations.requests_client import OAuth2Session
from authlib.common.security import generate_token
env = os.environ
issuer, cid, secret = env['LK_ISSUER'], env['LK_CLIENT_ID'], env['LK_CLIENT_SECRET']
meta = requests.get(issuer + '/.well-known/openid-configuration').json()
verifier = generate_token(48)
oauth = OAuth2Session(cid, secret, scope='openid profile email', redirect_uri=env['LK_REDIRECT'], code_challenge_method='S256')
url, state = oauth.create_authorization_url(meta['authorization_endpoint'], code_verifier=verifier)
browser = requests.Session()

def walk(r):
    while r.is_redirect and requests.compat.urljoin(r.url, r.headers['location']).startswith(issuer.split('/tenants/')[0]):
        r = browser.get(requests.compat.urljoin(r.url, r.headers['location']), allow_redirects=False)
    return r

def submit(r, fields):
    form = re.search(r'<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>', r.text, re.S)
    data = {m.group(1): html.unescape(m.group(2)) for m in re.finditer(r'<input[^>]*type="hidden"[^>]*name="([^"]*)"[^>]*value="([^"]*)"', form.group(2))}
    data.update(fields)
    return walk(browser.post(requests.compat.urljoin(r.url, html.unescape(form.group(1))), data=data, allow_redirects=False))

page = walk(browser.get(url, allow_redirects=False))
page = submit(page, {'login': env['LK_USERNAME'], 'password': env['LK_PASSWORD']})
if 'name="decision"' in page.text:
    page = submit(page, {'decision': 'allow'})
callback = page.headers['location']
token = oauth.fetch_token(meta['token_endpoint'], authorization_response=callback, code_verifier=verifier)
keys = jwt.PyJWKClient(meta['jwks_uri'])
out = {'jwks_uri': meta['jwks_uri'], 'token_type': token['token_type']}
def check(value, **kw):
    try:
        key = keys.get_signing_key_from_jwt(value)
        return {'ok': True, 'claims': jwt.decode(value, key.key, algorithms=['ES256'], issuer=issuer, **kw)}
    except jwt.PyJWTError as e:
        return {'ok': False, 'error': type(e).__name__}
out['id'] = check(token['id_token'], audience=cid)
out['access'] = check(token['access_token'])
head, body, sig = token['access_token'].split('.')
out['tampered'] = check(head + '.' + body[:-2] + ('AA' if body[-2:] != 'AA' else 'BB') + '.' + sig)
out['userinfo'] = oauth.get(meta['userinfo_endpoint']).json()
print(json.dumps(out))
`;

const skipPython = pythonSkip(['authlib', 'jwt', 'cryptography', 'requests']);

for (const { engine, skip } of engines) {
  describe(`authlib completes the code flow with PKCE; PyJWT verifies its tokens [${engine.name}]`, { skip: skip || skipPython }, () => {
    let app: OidcApp;
    let userId: string;
    before(async () => {
      app = await oidcApp(engine);
      userId = (await app.t.createUser({ username: 'riley', password: PASSWORD, email: 'riley@example.com' })).id;
      await app.t.request({ method: 'POST', url: '/api/tenants/', headers: app.admin, payload: { name: 'acme', display_name: 'Acme' } });
      await app.t.createUser({ username: 'ana', password: PASSWORD, email: 'ana@acme.example', tenant: 'acme' });
    });
    after(() => app?.close());

    for (const tenant of [undefined, 'acme']) {
      it(`the ${tenant ?? 'default'} tenant: ID token and access token verified through the discovered jwks_uri`, async () => {
        const c = await app.client({ tenant });
        noteSecret(PASSWORD);
        const out = await python(SCRIPT, {
          LK_ISSUER: app.issuer(tenant), LK_CLIENT_ID: c.client_id, LK_CLIENT_SECRET: c.client_secret!, LK_REDIRECT: REDIRECT,
          LK_USERNAME: tenant ? 'ana' : 'riley', LK_PASSWORD: PASSWORD,
        });
        assert.equal(out.token_type.toLowerCase(), 'bearer');
        assert.equal(out.id.ok, true, JSON.stringify(out.id));
        assert.equal(out.id.claims.iss, app.issuer(tenant));
        assert.equal(out.id.claims.aud, c.client_id);
        assert.equal(out.access.ok, true, JSON.stringify(out.access));
        assert.equal(out.access.claims.token_type, 'access');
        assert.equal(out.access.claims.tenant, tenant ?? 'default');
        if (!tenant) assert.equal(out.access.claims.sub, userId);
        assert.equal(out.tampered.ok, false);
        assert.equal(out.userinfo.preferred_username, tenant ? 'ana' : 'riley');
      });
    }
  });
}
