// The engines every store and API suite runs against: SQLite always, PostgreSQL when
// TEST_DATABASE_URL names a server (each test database gets a random name and is dropped after).
import crypto from 'node:crypto';
import pg from 'pg';

export interface Engine {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database; call the returned drop() when done. */
  create(): Promise<{ url: string; drop(): Promise<void> }>;
}

const sqlite: Engine = {
  name: 'sqlite',
  async create() {
    return { url: 'sqlite::memory:', drop: async () => {} };
  },
};

function postgres(adminUrl: string): Engine {
  return {
    name: 'postgres',
    async create() {
      const name = `latchkey_test_${crypto.randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        async drop() {
          const c = new pg.Client({ connectionString: adminUrl });
          await c.connect();
          try {
            await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          } finally {
            await c.end();
          }
        },
      };
    },
  };
}

export const PG_URL = process.env.TEST_DATABASE_URL;

/** Both engines; PostgreSQL is listed with a skip reason when TEST_DATABASE_URL is unset. */
export const engines: Array<{ engine: Engine; skip: string | false }> = [
  { engine: sqlite, skip: false },
  {
    engine: PG_URL ? postgres(PG_URL) : { ...sqlite, name: 'postgres' },
    skip: PG_URL ? false : 'TEST_DATABASE_URL is not set: PostgreSQL half skipped',
  },
];
