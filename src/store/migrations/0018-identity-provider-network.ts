import type { Kysely } from 'kysely';

// Whether an identity provider may be reached on the internal network (loopback, private and
// link-local addresses): true only when a superuser or the operator saved its addresses. Rows
// made before start false, so a tenant's staff-made provider is held to public addresses.
export function identityProviderNetwork() {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('identity_providers').addColumn('internal_network', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('identity_providers').dropColumn('internal_network').execute();
    },
  };
}
