// Repositories of the self-service tables: token keys, e-mail addresses, one-time e-mail
// tokens, social accounts and failed sign-in counters.
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import { flag, toFlag } from './rows.ts';
import type { Engine } from '../database.ts';
import { preparedQuery } from '../prepared.ts';
import type { EmailAddress } from '../../core/accounts/email-address.ts';
import type { EmailAddressesRepo } from '../../core/accounts/email-addresses-repo.ts';
import type { EmailTokenRecord, EmailTokensRepo } from '../../core/accounts/email-tokens-repo.ts';
import type { SocialAccountRecord, SocialAccountsRepo } from '../../core/accounts/social-accounts-repo.ts';
import type { LoginFailuresRepo } from '../../core/credentials/login-failures-repo.ts';
import type { TokenKeyRecord, TokenKeysRepo } from '../../core/credentials/token-keys-repo.ts';

export type { EmailAddress };

/** Behind every request authenticated by a token key: compiled once. */
const tokenKeyByHash = preparedQuery((db, keyHash: string) => db.selectFrom('token_keys').selectAll().where('key_hash', '=', keyHash));

const toEmail = (r: any): EmailAddress => ({
  pk: r.pk, tenantPk: r.tenant_pk, userPk: r.user_pk, email: r.email, verified: flag(r.verified), primary: flag(r.is_primary), createdAt: r.created_at,
});

export function tokenKeysRepo(db: Kysely<DB>, engine: Engine): TokenKeysRepo {
  return {
    insert: async (row: TokenKeyRecord) => void (await db.insertInto('token_keys').values(row).execute()),
    find: async (keyHash: string) => (await tokenKeyByHash(db, engine, keyHash)).rows[0],
    findById: (id: string) => db.selectFrom('token_keys').selectAll().where('id', '=', id).executeTakeFirst(),
    forUser: (userPk: number) => db.selectFrom('token_keys').selectAll().where('user_pk', '=', userPk).orderBy('created_at', 'desc').execute(),
    delete: async (keyHash: string) => void (await db.deleteFrom('token_keys').where('key_hash', '=', keyHash).execute()),
    async deleteForUser(userPk: number, keep?: string): Promise<void> {
      let q = db.deleteFrom('token_keys').where('user_pk', '=', userPk);
      if (keep) q = q.where('key_hash', '!=', keep);
      await q.execute();
    },
  };
}

export function emailAddressesRepo(db: Kysely<DB>): EmailAddressesRepo {
  return {
    async forUser(userPk: number, page?: { offset: number; limit: number }) {
      const [{ n }] = await db.selectFrom('email_addresses').where('user_pk', '=', userPk).select((eb) => eb.fn.countAll<number>().as('n')).execute();
      let q = db.selectFrom('email_addresses').selectAll().where('user_pk', '=', userPk).orderBy('pk');
      if (page) q = q.limit(page.limit).offset(page.offset);
      return { count: Number(n), items: (await q.execute()).map(toEmail) };
    },
    async find(pk: number): Promise<EmailAddress | undefined> {
      const r = await db.selectFrom('email_addresses').selectAll().where('pk', '=', pk).executeTakeFirst();
      return r && toEmail(r);
    },
    async findForUser(userPk: number, email: string): Promise<EmailAddress | undefined> {
      const r = await db.selectFrom('email_addresses').selectAll().where('user_pk', '=', userPk).where('email_lower', '=', email.toLowerCase()).executeTakeFirst();
      return r && toEmail(r);
    },
    /** The user who has verified this address in the tenant, if any. */
    async verifiedOwner(tenantPk: number, email: string): Promise<EmailAddress | undefined> {
      const r = await db.selectFrom('email_addresses').selectAll().where('tenant_pk', '=', tenantPk).where('email_lower', '=', email.toLowerCase())
        .where('verified', '=', toFlag(true)).executeTakeFirst();
      return r && toEmail(r);
    },
    /** Every address with this spelling in the tenant (for sign-in and reset by e-mail). */
    async byEmail(tenantPk: number, email: string): Promise<EmailAddress[]> {
      const rows = await db.selectFrom('email_addresses').selectAll().where('tenant_pk', '=', tenantPk).where('email_lower', '=', email.toLowerCase()).orderBy('pk').execute();
      return rows.map(toEmail);
    },
    async insert(e: Omit<EmailAddress, 'pk'>): Promise<EmailAddress> {
      const r = await db.insertInto('email_addresses').values({
        tenant_pk: e.tenantPk, user_pk: e.userPk, email: e.email, email_lower: e.email.toLowerCase(), verified: toFlag(e.verified),
        is_primary: toFlag(e.primary), created_at: e.createdAt,
      }).returningAll().executeTakeFirstOrThrow();
      return toEmail(r);
    },
    setVerified: async (pk: number) => void (await db.updateTable('email_addresses').set({ verified: toFlag(true) }).where('pk', '=', pk).execute()),
    async setPrimary(userPk: number, pk: number): Promise<void> {
      await db.updateTable('email_addresses').set({ is_primary: toFlag(false) }).where('user_pk', '=', userPk).execute();
      await db.updateTable('email_addresses').set({ is_primary: toFlag(true) }).where('pk', '=', pk).execute();
    },
    delete: async (pk: number) => void (await db.deleteFrom('email_addresses').where('pk', '=', pk).execute()),
  };
}

export function emailTokensRepo(db: Kysely<DB>): EmailTokensRepo {
  return {
    insert: async (row: EmailTokenRecord) => void (await db.insertInto('email_tokens').values(row).execute()),
    find: (hash: string) => db.selectFrom('email_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst(),
    /** Marks a token used; false when it was used already (single use, race-safe). */
    async consume(hash: string, now: number): Promise<boolean> {
      const r = await db.updateTable('email_tokens').set({ used_at: now }).where('token_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
}

export function socialAccountsRepo(db: Kysely<DB>): SocialAccountsRepo {
  return {
    async forUser(userPk: number, page: { offset: number; limit: number }) {
      const [{ n }] = await db.selectFrom('social_accounts').where('user_pk', '=', userPk).select((eb) => eb.fn.countAll<number>().as('n')).execute();
      const items = await db.selectFrom('social_accounts').selectAll().where('user_pk', '=', userPk).orderBy('pk').limit(page.limit).offset(page.offset).execute();
      return { count: Number(n), items };
    },
    find: (pk: number) => db.selectFrom('social_accounts').selectAll().where('pk', '=', pk).executeTakeFirst(),
    findByUid: (tenantPk: number, provider: string, uid: string) => db.selectFrom('social_accounts').selectAll().where('tenant_pk', '=', tenantPk).where('provider', '=', provider).where('uid', '=', uid).executeTakeFirst(),
    touch: async (pk: number, lastLogin: number) => void (await db.updateTable('social_accounts').set({ last_login: lastLogin }).where('pk', '=', pk).execute()),
    async insert(row: Omit<SocialAccountRecord, 'pk'>) {
      return db.insertInto('social_accounts').values(row).returningAll().executeTakeFirstOrThrow();
    },
    delete: async (pk: number) => void (await db.deleteFrom('social_accounts').where('pk', '=', pk).execute()),
  };
}

export function loginFailuresRepo(db: Kysely<DB>): LoginFailuresRepo {
  return {
    find: (tenantPk: number, username: string) =>
      db.selectFrom('login_failures').selectAll().where('tenant_pk', '=', tenantPk).where('username', '=', username).executeTakeFirst(),
    /**
     * Claims an attempt before its password is checked: counts it now (a success clears the
     * row, a failure stamps its time with `markFailed`) and answers the new count with the time
     * of the last failure (0 when none). The upsert locks the row until the transaction ends,
     * so parallel attempts are counted one after another.
     */
    async claim(tenantPk: number, username: string): Promise<{ failures: number; lastFailureAt: number }> {
      await db.insertInto('login_failures').values({ tenant_pk: tenantPk, username, failures: 1, last_failure_at: 0 })
        .onConflict((oc) => oc.columns(['tenant_pk', 'username']).doUpdateSet((eb) => ({ failures: eb('login_failures.failures', '+', 1) })))
        .execute();
      const r = await db.selectFrom('login_failures').select(['failures', 'last_failure_at'])
        .where('tenant_pk', '=', tenantPk).where('username', '=', username).executeTakeFirstOrThrow();
      return { failures: Number(r.failures), lastFailureAt: Number(r.last_failure_at) };
    },
    markFailed: async (tenantPk: number, username: string, now: number) =>
      void (await db.updateTable('login_failures').set({ last_failure_at: now }).where('tenant_pk', '=', tenantPk).where('username', '=', username).execute()),
    clear: async (tenantPk: number, username: string) =>
      void (await db.deleteFrom('login_failures').where('tenant_pk', '=', tenantPk).where('username', '=', username).execute()),
  };
}
