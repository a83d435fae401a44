import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { DomainError, OPERATOR, PRESETS, type Core, type IdentityProvider, type ProviderInput, type Tenant } from '../core/index.ts';
import { openCore, UsageError } from './context.ts';

export const help = `Usage: latchkey identity-providers <action> [options]

  list   [--tenant NAME]               the tenant's upstream providers, one a line: id, kind, enabled|disabled, name
  show   ID [--tenant NAME]            one provider's settings (never its secret)
  create ID --kind KIND --client-id ID [--client-secret-stdin] [settings] [--tenant NAME]
                                       adds a provider (enabled unless --disable); an OpenID Connect one is
                                       checked by discovery at its issuer now
  update ID [settings] [--tenant NAME] changes what is given, nothing else; --disable, --enable
  delete ID [--tenant NAME]            accounts linked through it keep their other ways to sign in

Settings (create and update):
  --kind KIND                  oidc, google, microsoft, gitlab, apple, github
  --name TEXT                  shown on buttons (default: the preset's)
  --issuer URL                 OpenID Connect issuer (required for oidc; a preset's override); "" removes it
  --authorization-endpoint URL, --token-endpoint URL, --userinfo-endpoint URL, --emails-endpoint URL
                               overrides of discovery's or the preset's endpoints; "" removes one
  --client-id ID               the client id the provider gave
  --client-secret-stdin        the client secret, read from standard input (one line): never from the
                               command line, where other users of the machine could read it
  --no-client-secret           removes the secret (a public client)
  --scope S                    repeatable; replaces the list (default: the preset's); --preset-scopes: back to them
  --allowed-domain D           repeatable; replaces the list of e-mail domains a sign-in must have; --any-domain: none
  --jit | --no-jit             create an account at the first sign-in of an unknown person (default: no)
  --trusted-for-mfa | --no-trusted-for-mfa
                               the provider's amr may satisfy the tenant's second-factor requirement (default: no)
  --enable | --disable         a disabled provider shows no button and refuses sign-ins (default: enabled)

The same as /api/identity-providers/ (docs/identity-providers.md), acting with full authority.`;

const OPTIONS = {
  tenant: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' }, issuer: { type: 'string' },
  'authorization-endpoint': { type: 'string' }, 'token-endpoint': { type: 'string' }, 'userinfo-endpoint': { type: 'string' }, 'emails-endpoint': { type: 'string' },
  'client-id': { type: 'string' }, 'client-secret-stdin': { type: 'boolean' }, 'no-client-secret': { type: 'boolean' },
  scope: { type: 'string', multiple: true }, 'preset-scopes': { type: 'boolean' },
  'allowed-domain': { type: 'string', multiple: true }, 'any-domain': { type: 'boolean' },
  jit: { type: 'boolean' }, 'no-jit': { type: 'boolean' }, 'trusted-for-mfa': { type: 'boolean' }, 'no-trusted-for-mfa': { type: 'boolean' },
  enable: { type: 'boolean' }, disable: { type: 'boolean' },
} as const;
type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

// Options that say something only on create or update.
const SETTINGS = Object.keys(OPTIONS).filter((k) => k !== 'tenant') as Array<keyof typeof OPTIONS>;
const PAIRS = [
  ['client-secret-stdin', 'no-client-secret'], ['scope', 'preset-scopes'], ['allowed-domain', 'any-domain'],
  ['jit', 'no-jit'], ['trusted-for-mfa', 'no-trusted-for-mfa'], ['enable', 'disable'],
] as const;

const line = (p: IdentityProvider) => `${p.slug}\t${p.kind}\t${p.enabled ? 'enabled' : 'disabled'}\t${p.name}`;

/** A flag and its opposite: true, false, or undefined when neither is given. */
const either = (yes: boolean | undefined, no: boolean | undefined) => (yes ? true : no ? false : undefined);

/** What the options say, in the core's terms; only what is given (an update changes nothing else). */
function inputOf(v: Values, secret: string | null | undefined): ProviderInput {
  const input: ProviderInput = {
    kind: v.kind, name: v.name, issuer: v.issuer, authorizationEndpoint: v['authorization-endpoint'], tokenEndpoint: v['token-endpoint'],
    userinfoEndpoint: v['userinfo-endpoint'], emailsEndpoint: v['emails-endpoint'], clientId: v['client-id'], clientSecret: secret,
    scopes: v['preset-scopes'] ? [] : v.scope, allowedDomains: v['any-domain'] ? [] : v['allowed-domain'],
    jit: either(v.jit, v['no-jit']), trustedForMfa: either(v['trusted-for-mfa'], v['no-trusted-for-mfa']), enabled: either(v.enable, v.disable),
  };
  return Object.fromEntries(Object.entries(input).filter(([, x]) => x !== undefined));
}

/** The secret from standard input (one line, as createsuperuser reads a password); an empty one is a mistake. */
function readSecret(): string {
  const secret = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (secret === '') throw new UsageError('--client-secret-stdin: standard input held no secret (--no-client-secret makes a public client)');
  return secret;
}

function show(p: IdentityProvider): string {
  const preset = PRESETS[p.kind];
  const oidc = preset.protocol === 'oidc';
  // An unset override: what is used instead.
  const or = (v: string | null, presets: string | undefined, discovered: boolean) => v ?? (presets ? `- (the preset's: ${presets})` : discovered ? '- (discovery\'s)' : '- (none)');
  return [
    `id: ${p.slug}`, `name: ${p.name}`, `kind: ${p.kind}`, `enabled: ${p.enabled}`,
    `issuer: ${or(p.issuer, preset.issuer, false)}`,
    `authorization_endpoint: ${or(p.authorizationEndpoint, preset.authorizationEndpoint, oidc)}`,
    `token_endpoint: ${or(p.tokenEndpoint, preset.tokenEndpoint, oidc)}`,
    `userinfo_endpoint: ${or(p.userinfoEndpoint, preset.userinfoEndpoint, oidc)}`,
    `emails_endpoint: ${or(p.emailsEndpoint, preset.emailsEndpoint, false)}`,
    `client_id: ${p.clientId}`, `client_secret: ${p.hasClientSecret ? 'set (never shown)' : 'none'}`,
    `scopes: ${p.scopes.length ? p.scopes.join(' ') : `- (the preset's: ${preset.scopes.join(' ')})`}`,
    `jit: ${p.jit}`, `allowed_domains: ${p.allowedDomains.length ? p.allowedDomains.join(' ') : '- (any)'}`, `trusted_for_mfa: ${p.trustedForMfa}`,
    `callback_url: ${p.callbackUrl}`,
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  // Before parsing: a secret typed on the command line is already in the shell's history; say how to give it instead.
  if (argv.some((a) => a === '--client-secret' || a.startsWith('--client-secret='))) {
    throw new UsageError('the client secret is read from standard input: --client-secret-stdin');
  }
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  const [action, slug] = positionals;
  const arity: Record<string, number> = { list: 1, show: 2, create: 2, update: 2, delete: 2 };
  if (!action || !Object.hasOwn(arity, action)) throw new UsageError(`unknown action "${action ?? ''}"`);
  if (positionals.length !== arity[action]) throw new UsageError(arity[action] === 1 ? `"${action}" takes no positional arguments` : `expected: identity-providers ${action} ID`);
  const given = SETTINGS.filter((k) => values[k] !== undefined);
  if (action !== 'create' && action !== 'update' && given.length) throw new UsageError(`"${action}" takes only --tenant (got --${given[0]})`);
  for (const [a, b] of PAIRS) if (values[a] !== undefined && values[b] !== undefined) throw new UsageError(`--${a} and --${b} contradict each other`);
  if (action === 'create' && !values.kind) throw new UsageError('--kind is required');
  if (action === 'create' && values['client-id'] === undefined) throw new UsageError('--client-id is required');
  if (action === 'update' && !given.length) throw new UsageError('nothing to change: give at least one setting');
  const secret = values['client-secret-stdin'] ? readSecret() : values['no-client-secret'] ? null : undefined;

  const { store, core } = await openCore();
  try {
    const tenant = await tenantNamed(core, values.tenant ?? 'default');
    const known = <T>(p: Promise<T>) => p.catch((err: unknown) => {
      // The core's "Not found." names nothing: say which provider of which tenant.
      if (err instanceof DomainError && err.code === 'NOT_FOUND') throw new DomainError('NOT_FOUND', `no identity provider "${slug}" in tenant "${tenant.name}"`);
      throw err;
    });
    switch (action) {
      case 'list': {
        const { items } = await core.identityProviders.list(OPERATOR, tenant, { offset: 0, limit: 10_000 });
        for (const p of items) console.log(line(p));
        break;
      }
      case 'show':
        console.log(show(await known(core.identityProviders.get(OPERATOR, tenant, slug!))));
        break;
      case 'create': {
        const p = await core.identityProviders.create(OPERATOR, tenant, { id: slug, ...inputOf(values, secret) });
        console.log(`created: ${line(p)}\ncallback_url: ${p.callbackUrl} (register it at the provider as the redirect URI)`);
        break;
      }
      case 'update':
        console.log(`updated: ${line(await known(core.identityProviders.update(OPERATOR, tenant, slug!, inputOf(values, secret))))}`);
        break;
      case 'delete':
        await known(core.identityProviders.delete(OPERATOR, tenant, slug!));
        console.log(`deleted: ${slug}`);
        break;
    }
    return 0;
  } finally {
    await store.close();
  }
}

async function tenantNamed(core: Core, name: string): Promise<Tenant> {
  try {
    return await core.tenants.adminGet(OPERATOR, name);
  } catch (err) {
    if (err instanceof DomainError && err.code === 'NOT_FOUND') throw new DomainError('NOT_FOUND', `no tenant "${name}"`);
    throw err;
  }
}
