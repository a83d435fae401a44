// The core's one entry point: dialects and the CLI import from here only.
import type { Store } from '../store/index.ts';
import { systemClock, type Clock } from './clock.ts';
import { createArgon2Hasher, type PasswordHasher } from './credentials/password-hasher.ts';
import { KeyRing } from './tokens/key-ring.ts';
import { AccessTokens } from './tokens/access-tokens.ts';
import { TenantsService } from './tenants/tenants-service.ts';
import { SettingsService } from './settings/settings-service.ts';
import { UsersService } from './users/users-service.ts';
import { GroupsService } from './groups/groups-service.ts';
import { SessionsService } from './sessions/sessions-service.ts';
import { AuthService } from './auth-service.ts';
import { ClientsService } from './clients/clients-service.ts';
import { DomainError } from './errors.ts';

export * from './errors.ts';
export * from './types.ts';
export type { Clock } from './clock.ts';
export { ManualClock, systemClock } from './clock.ts';
export type { PasswordHasher } from './credentials/password-hasher.ts';
export { createArgon2Hasher, OWASP_ARGON2ID } from './credentials/password-hasher.ts';
export { SETTINGS, SETTING_KEYS } from './settings/settings-schema.ts';
export { DEFAULT_TENANT } from './tenants/tenants-service.ts';
export { USERNAME_MAX, NAME_MAX, EMAIL_MAX } from './users/user-fields.ts';
export { GROUP_NAME_MAX } from './groups/groups-service.ts';
export { MAX_PASSWORD_BYTES } from './credentials/password-policy.ts';
export { isUuid } from './secrets.ts';
export { GRANT_TYPES } from './clients/clients-service.ts';

export interface CoreOptions {
  store: Store;
  /** Issuer of tokens and base of links: PUBLIC_URL. */
  publicUrl: string;
  clock?: Clock;
  hasher?: PasswordHasher;
}

export interface BootstrapAdmin {
  username: string;
  password: string;
  email: string;
}

export function createCore(opts: CoreOptions) {
  const store = opts.store;
  const clock = opts.clock ?? systemClock;
  const hasher = opts.hasher ?? createArgon2Hasher();
  const keys = new KeyRing(store, clock);
  const accessTokens = new AccessTokens(keys, clock, opts.publicUrl);
  const tenants = new TenantsService(store, clock);
  const settings = new SettingsService(store, clock);
  const users = new UsersService({ store, clock, hasher, settings, tenants });
  const groups = new GroupsService(store, clock);
  const sessions = new SessionsService(store, clock, settings);
  const clients = new ClientsService(store, clock);
  const auth = new AuthService({ store, clock, hasher, accessTokens, settings, tenants, sessions, users, clients });

  return {
    store, clock, hasher, keys, tenants, settings, users, groups, sessions, auth, clients,

    /** Makes the stored state ready: schema, default tenant, signing keys. Safe on every start. */
    async prepare(): Promise<void> {
      await store.migrate();
      await tenants.ensureDefault();
      await keys.ensure();
    },

    /** Creates the bootstrap superuser when the default tenant has none (never touches an existing user). */
    async bootstrapAdmin(admin: BootstrapAdmin): Promise<'created' | 'skipped'> {
      const tenant = await tenants.ensureDefault();
      if ((await store.read.users.countSuperusers(tenant.pk)) > 0) return 'skipped';
      if (await store.read.users.findByUsername(tenant.pk, admin.username)) return 'skipped';
      try {
        await users.create(undefined, {
          username: admin.username, password: admin.password, email: admin.email, isStaff: true, isSuperuser: true,
        });
      } catch (err) {
        if (err instanceof DomainError && err.fields?.username) return 'skipped'; // created concurrently
        throw err;
      }
      return 'created';
    },
  };
}

export type Core = ReturnType<typeof createCore>;
