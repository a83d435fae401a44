// Debian's djangorestframework-simplejwt (5.2.x) as a resource server in front of which Latchkey
// signs users in: a tiny Django project (in-memory SQLite) whose DRF views authenticate with
// simplejwt, configured once with our public key as a PEM (VERIFYING_KEY) and once with our
// /.well-known/jwks.json (JWK_URL). Our access tokens pass simplejwt's checks (ES256, issuer,
// exp, jti, token_type "access"); forged ones, and ours under another expected issuer, do not.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engines } from '../helpers/engines.ts';
import { ISSUER, forgeries, jwkToPem, listening, python, pythonSkip, type Listening } from './support.ts';

/** A Python string literal (JSON's escapes are valid Python for these ASCII values). */
const py = (s: string) => JSON.stringify(s);

function settingsModule(simpleJwt: Record<string, string>): string {
  return `
SECRET_KEY = 'interop-test-only-not-a-secret'
DEBUG = False
ALLOWED_HOSTS = ['testserver']
USE_TZ = True
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}
INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'rest_framework']
MIDDLEWARE = []
ROOT_URLCONF = 'lk_urls'
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
REST_FRAMEWORK = {
    'DEFAULT_AUTHENTICATION_CLASSES': ['rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication'],
    'DEFAULT_PERMISSION_CLASSES': ['rest_framework.permissions.IsAuthenticated'],
}
SIMPLE_JWT = {
    'ALGORITHM': 'ES256',
${Object.entries(simpleJwt).map(([k, v]) => `    ${py(k)}: ${py(v)},`).join('\n')}
    'ISSUER': ${py(ISSUER)},
    'USER_ID_CLAIM': 'sub',
    'USER_ID_FIELD': 'username',
    'AUTH_HEADER_TYPES': ('Bearer',),
}
`;
}

const URLS = `
from django.urls import path
from rest_framework.decorators import api_view, authentication_classes
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTAuthentication

def describe(request):
    user, token = request.user, request.auth
    return Response({
        'user_class': type(user).__name__, 'id': str(user.id), 'username': user.username,
        'token_type': token['token_type'], 'tenant': token['tenant'], 'groups': token['groups'], 'jti': token['jti'],
    })

@api_view(['GET'])
def whoami(request):
    return describe(request)

# Stateful: the token's sub names a row of the local user table (USER_ID_FIELD).
@api_view(['GET'])
@authentication_classes([JWTAuthentication])
def local_user(request):
    return describe(request)

urlpatterns = [path('whoami', whoami), path('local-user', local_user)]
`;

const SCRIPT = String.raw`
import json, os
import django
django.setup()
from django.core.management import call_command
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.exceptions import TokenError
import rest_framework_simplejwt

env = os.environ
call_command('migrate', verbosity=0)
get_user_model().objects.create(username=env['LK_SUB'])
client = APIClient()

def view(token, url='/whoami'):
    r = client.get(url, HTTP_AUTHORIZATION='Bearer ' + token)
    return {'status': r.status_code, 'body': r.json()}

def as_class(cls, token):
    try:
        t = cls(token)
        return {'ok': True, 'sub': t['sub']}
    except TokenError as e:
        return {'ok': False, 'message': str(e)}

tokens = {name[len('LK_TOKEN_'):]: value for name, value in env.items() if name.startswith('LK_TOKEN_')}
out = {'version': rest_framework_simplejwt.__version__ if hasattr(rest_framework_simplejwt, '__version__') else None}
out['whoami'] = {name: view(t) for name, t in tokens.items()}
out['local_user'] = {name: view(t, '/local-user') for name, t in tokens.items()}
out['access_token'] = {name: as_class(AccessToken, t) for name, t in tokens.items()}
out['refresh_token'] = {name: as_class(RefreshToken, t) for name, t in tokens.items()}
out['no_header'] = client.get('/whoami').status_code
print(json.dumps(out))
`;

const skipPython = pythonSkip(['django', 'rest_framework', 'rest_framework_simplejwt', 'cryptography']);

for (const { engine, skip } of engines) {
  describe(`djangorestframework-simplejwt accepts Latchkey access tokens [${engine.name}]`, { skip: skip || skipPython }, () => {
    let s: Listening;
    let dir: string;
    before(async () => {
      s = await listening(engine);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-simplejwt-'));
      fs.writeFileSync(path.join(dir, 'lk_urls.py'), URLS);
    });
    after(async () => {
      await s?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Runs SCRIPT under a settings module with these SIMPLE_JWT entries, for `tokens` by name. */
    async function django(name: string, simpleJwt: Record<string, string>, tokens: Record<string, string>, issuer = ISSUER): Promise<any> {
      const settings = settingsModule(simpleJwt).replace(`'ISSUER': ${py(ISSUER)}`, `'ISSUER': ${py(issuer)}`);
      fs.writeFileSync(path.join(dir, `${name}.py`), settings);
      return python(SCRIPT, {
        PYTHONPATH: dir, DJANGO_SETTINGS_MODULE: name, LK_SUB: s.user.id,
        ...Object.fromEntries(Object.entries(tokens).map(([k, v]) => [`LK_TOKEN_${k}`, v])),
      });
    }

    /** What simplejwt must make of a genuine access token of ours. */
    function accepted(out: any, name: string) {
      const expected = {
        // Stateless: a TokenUser built from the claims (id = sub, username = our username claim).
        whoami: { user_class: 'TokenUser', id: s.user.id, username: s.user.username },
        // Stateful: the local user row whose username (USER_ID_FIELD) is the token's sub.
        local_user: { user_class: 'User', id: '1', username: s.user.id },
      };
      for (const view of ['whoami', 'local_user'] as const) {
        const r = out[view][name];
        assert.equal(r.status, 200, `${view} refused ${name}: ${JSON.stringify(r)}`);
        const { user_class, id, username, token_type, tenant, groups } = r.body;
        assert.deepEqual({ user_class, id, username, token_type, tenant }, { ...expected[view], token_type: 'access', tenant: s.user.tenant });
        assert.deepEqual([...groups].sort(), s.user.groups);
      }
      assert.deepEqual(out.access_token[name], { ok: true, sub: s.user.id });
      // simplejwt's token_type check is in force: ours says "access", so it is no refresh token.
      assert.deepEqual(out.refresh_token[name], { ok: false, message: 'Token has wrong type' });
    }

    function refused(out: any, name: string) {
      for (const view of ['whoami', 'local_user'] as const) {
        const r = out[view][name];
        assert.equal(r.status, 401, `${view} accepted ${name}: ${JSON.stringify(r)}`);
        assert.equal(r.body.code, 'token_not_valid');
      }
      assert.equal(out.access_token[name].ok, false, `AccessToken() accepted ${name}`);
    }

    it('VERIFYING_KEY = our current public key as PEM: a token from POST /api/token is accepted, forgeries are refused', async () => {
      const jwks = await s.jwks();
      const pem = jwkToPem(jwks.keys[0]!);
      assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
      const token = await s.signIn();
      const forged = forgeries(token);
      const out = await django('lk_pem', { VERIFYING_KEY: pem }, { genuine: token, ...forged });
      accepted(out, 'genuine');
      for (const name of Object.keys(forged)) refused(out, name);
      assert.equal(out.no_header, 401);
    });

    it('simplejwt checks our issuer: under another expected ISSUER the same token is refused', async () => {
      const pem = jwkToPem((await s.jwks()).keys[0]!);
      const token = await s.signIn();
      const out = await django('lk_other_issuer', { VERIFYING_KEY: pem }, { genuine: token }, 'http://someone-else.test');
      refused(out, 'genuine');
    });

    it('JWK_URL = our /.well-known/jwks.json: tokens verify, also those signed after a key rotation, and so do older ones', async () => {
      const older = await s.signIn();
      const rotated = await s.t.core.rotateSigningKey();
      const newer = await s.signIn();
      const kid = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid;
      assert.notEqual(kid(newer), kid(older));
      assert.equal(kid(newer), rotated.current);
      const forged = forgeries(newer);
      const out = await django('lk_jwk', { JWK_URL: `${s.base}/.well-known/jwks.json` }, { older, newer, ...forged });
      assert.match(out.version, /^5\./);
      accepted(out, 'older');
      accepted(out, 'newer');
      for (const name of Object.keys(forged)) refused(out, name);
    });
  });
}
