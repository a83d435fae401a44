import type { Kysely } from 'kysely';

// Whether a registered client is the tenant's own application: the OpenID provider then asks
// the user for no consent. Existing clients stay third party.
export function clientFirstParty() {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('clients').addColumn('first_party', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('clients').dropColumn('first_party').execute();
    },
  };
}
