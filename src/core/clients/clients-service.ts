// Registered client applications. A confidential client's secret is generated here (256 bits),
// shown once, stored as SHA-256 and compared in constant time: the secret cannot be guessed,
// so a slow hash would only cap the token endpoint.
import type { Store } from '../store.ts';
import type { ClientRecord } from './clients-repo.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Client, Page, PageRequest, Tenant } from '../types.ts';
import { DomainError, FieldErrorBag, fieldError, notFound } from '../errors.ts';
import { requireTenantManager } from '../permissions.ts';
import { actorUserPk, type Actor } from '../actor.ts';
import { randomToken, safeEqual, sha256 } from '../secrets.ts';

export const GRANT_TYPES = ['password', 'refresh_token', 'authorization_code', 'client_credentials'] as const;
const DEFAULT_GRANTS = ['password', 'refresh_token'];
const CLIENT_ID_RE = /^[A-Za-z0-9._~-]{1,100}$/;
// RFC 6749 §3.3 scope-token: printable ASCII but space, " and \.
const SCOPE_RE = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
const CACHE_MS = 2_000;

export interface ClientInput {
  clientId?: string;
  name?: string;
  grantTypes?: string[];
  redirectUris?: string[];
  scopes?: string[];
  confidential?: boolean;
  /** Skips the OpenID provider's consent page (default false: third party). */
  firstParty?: boolean;
}

const invalidClient = (message = 'Client authentication failed.') => new DomainError('INVALID_CLIENT', message);

function check(input: ClientInput, creating: boolean): void {
  const errors = new FieldErrorBag();
  if (creating && (input.name === undefined || input.name.trim() === '')) errors.add('name', 'This field is required.');
  if (input.name !== undefined && [...input.name].length > 200) errors.add('name', 'Ensure this field has no more than 200 characters.');
  if (input.clientId !== undefined && !CLIENT_ID_RE.test(input.clientId)) {
    errors.add('client_id', 'Use 1 to 100 letters, digits, ".", "_", "~" or "-".');
  }
  for (const g of input.grantTypes ?? []) {
    if (!(GRANT_TYPES as readonly string[]).includes(g)) errors.add('grant_types', `"${g}" is not a valid choice (${GRANT_TYPES.join(', ')}).`);
  }
  for (const u of input.redirectUris ?? []) {
    let ok = false;
    try {
      const url = new URL(u);
      ok = url.hash === '' && u.length <= 2000;
    } catch {
      ok = false;
    }
    if (!ok) errors.add('redirect_uris', `"${u.slice(0, 200)}" is not an absolute URI without a fragment.`);
  }
  for (const s of input.scopes ?? []) if (!SCOPE_RE.test(s)) errors.add('scopes', `"${s.slice(0, 100)}" is not a valid scope.`);
  errors.throwIfAny();
}

export class ClientsService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly events: Events;
  private readonly cache = new Map<string, { client: ClientRecord | undefined; at: number }>();

  constructor(store: Store, clock: Clock, events: Events) {
    this.store = store;
    this.clock = clock;
    this.events = events;
  }

  private changed(a: Actor, tenant: Tenant, action: string, clientId: string) {
    return this.events.emit({ type: 'client.changed', tenantPk: tenant.pk, userPk: null, actorPk: actorUserPk(a), detail: { action, client_id: clientId } });
  }

  private async lookup(clientId: string): Promise<ClientRecord | undefined> {
    const hit = this.cache.get(clientId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.client;
    const client = await this.store.read.clients.find(clientId);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(clientId, { client, at: Date.now() });
    return client;
  }

  /** Drops a cached client (another instance changed it). */
  invalidate(clientId: string): void {
    this.cache.delete(clientId);
  }

  /** The client an `X-Client-Id` names in a tenant; INVALID_CLIENT when it is not registered there. */
  async identify(tenant: Tenant, clientId: string): Promise<Client> {
    if (!CLIENT_ID_RE.test(clientId)) throw invalidClient('Unknown client id.');
    const c = await this.lookup(clientId);
    if (!c || c.tenantPk !== tenant.pk) throw invalidClient('Unknown client id.');
    return strip(c);
  }

  async byPk(pk: number): Promise<Client | undefined> {
    const c = await this.store.read.clients.findByPk(pk);
    return c && strip(c);
  }

  /**
   * Authenticates a client at the token endpoint (RFC 6749 §2.3). A confidential client must
   * present its secret; a public one presents none (or an empty one, as requests-oauthlib does).
   */
  async authenticate(tenant: Tenant, clientId: string, secret: string | undefined): Promise<Client> {
    const c = CLIENT_ID_RE.test(clientId) ? await this.lookup(clientId) : undefined;
    // Hash even for an unknown client, so the answer's time does not say which ids exist.
    const presented = sha256(secret ?? '');
    if (!c || c.tenantPk !== tenant.pk) throw invalidClient();
    if (c.secretHash === null) {
      if (secret) throw invalidClient();
    } else if (!secret || !safeEqual(c.secretHash, presented)) {
      throw invalidClient();
    }
    return strip(c);
  }

  /** Refuses a grant the client is not registered for, and scopes it may not ask for. */
  checkGrant(client: Client | undefined, grantType: string, scopes: string[]): void {
    if (client && !client.grantTypes.includes(grantType)) {
      throw new DomainError('UNAUTHORIZED_CLIENT', `The client is not allowed to use the "${grantType}" grant.`);
    }
    for (const s of scopes) {
      if (!SCOPE_RE.test(s)) throw new DomainError('INVALID_SCOPE', 'The requested scope is malformed.');
      if (client && client.scopes.length > 0 && !client.scopes.includes(s)) {
        throw new DomainError('INVALID_SCOPE', `The client may not ask for the scope "${s.slice(0, 100)}".`);
      }
    }
  }

  // --- administration (staff of the tenant, superusers) ------------------------------------

  async list(a: Actor, tenant: Tenant, page: PageRequest): Promise<Page<Client>> {
    requireTenantManager(a, tenant.pk);
    const r = await this.store.read.clients.list(tenant.pk, page);
    return { count: r.count, items: r.items.map(strip) };
  }

  async get(a: Actor, tenant: Tenant, clientId: string): Promise<Client> {
    requireTenantManager(a, tenant.pk);
    const c = CLIENT_ID_RE.test(clientId) ? await this.store.read.clients.find(clientId) : undefined;
    if (!c || c.tenantPk !== tenant.pk) throw notFound();
    return strip(c);
  }

  /** Registers a client; the secret of a confidential client is in the answer and nowhere else. */
  async create(a: Actor, tenant: Tenant, input: ClientInput): Promise<{ client: Client; secret: string | null }> {
    requireTenantManager(a, tenant.pk);
    check(input, true);
    const secret = input.confidential === false ? null : randomToken(32);
    const now = this.clock.now();
    const clientId = input.clientId ?? `lk_${randomToken(15)}`;
    try {
      await this.store.transaction(async (r) => {
        await r.clients.insert({
          clientId, tenantPk: tenant.pk, name: input.name!.trim(), secretHash: secret === null ? null : sha256(secret),
          grantTypes: input.grantTypes ?? DEFAULT_GRANTS, redirectUris: input.redirectUris ?? [], scopes: input.scopes ?? [], firstParty: input.firstParty ?? false,
          createdAt: now, updatedAt: now,
        });
        await this.changed(a, tenant, 'created', clientId);
      });
    } catch (err) {
      if (this.store.isConflict(err)) throw fieldError('client_id', 'A client with that id already exists.');
      throw err;
    }
    this.cache.delete(clientId);
    return { client: strip((await this.store.read.clients.find(clientId))!), secret };
  }

  async update(a: Actor, tenant: Tenant, clientId: string, input: ClientInput): Promise<Client> {
    const c = await this.get(a, tenant, clientId);
    if (input.clientId !== undefined && input.clientId !== c.clientId) throw fieldError('client_id', 'This field is read-only.');
    if (input.confidential !== undefined && input.confidential !== c.confidential) {
      throw fieldError('confidential', 'A client cannot change between public and confidential; register a new one.');
    }
    check(input, false);
    await this.store.transaction(async (r) => {
      await r.clients.update(c.pk, {
        name: input.name?.trim(), grantTypes: input.grantTypes, redirectUris: input.redirectUris, scopes: input.scopes, firstParty: input.firstParty, updatedAt: this.clock.now(),
      });
      await this.changed(a, tenant, 'updated', clientId);
    });
    this.cache.delete(clientId);
    return this.get(a, tenant, clientId);
  }

  async delete(a: Actor, tenant: Tenant, clientId: string): Promise<void> {
    const c = await this.get(a, tenant, clientId);
    await this.store.transaction(async (r) => {
      await r.clients.delete(c.pk);
      await this.changed(a, tenant, 'deleted', clientId);
    });
    this.cache.delete(clientId);
  }
}

function strip(c: ClientRecord): Client {
  const { secretHash: _omit, ...client } = c;
  return client;
}
