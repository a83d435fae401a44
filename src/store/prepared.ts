// Hot queries are built and compiled once per engine, then run with new values in the same
// places. Kysely builds and compiles a query on every call: for a lookup by key that costs
// several times what SQLite spends running it (the `me` benchmark spent about a third of its
// CPU there; docs/benchmarks.md).
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { DB } from './schema.ts';
import type { Engine } from './database.ts';

interface Prepared<O> {
  query: CompiledQuery<O>;
  /** For each compiled parameter, the argument that fills it, or -1 for a constant of the query. */
  slots: number[];
}

/**
 * `build` receives stand-ins for its arguments and must use each of them as a plain value
 * (`where(col, '=', arg)`, `values({...})`, `limit(arg)`): not in `in` lists, not as null for
 * `is`, not to choose the query's shape. The compiled text is reused for every later call.
 */
export function preparedQuery<A extends unknown[], O>(build: (db: Kysely<DB>, ...args: A) => Compilable<O>) {
  const byEngine = new Map<Engine, Prepared<O>>();
  return async (db: Kysely<DB>, engine: Engine, ...args: A): Promise<QueryResult<O>> => {
    let p = byEngine.get(engine);
    if (!p) {
      // Stand-ins that no real value equals: they exist only while the query is compiled.
      const marks = args.map((_, i) => `\u0000prepared argument ${i}\u0000`);
      const query = build(db, ...(marks as A)).compile();
      const slots = query.parameters.map((v) => marks.indexOf(v as string));
      const unused = marks.findIndex((_, i) => !slots.includes(i));
      if (unused >= 0) throw new Error(`preparedQuery: argument ${unused} is not a parameter of: ${query.sql.replaceAll('\u0000', '')}`);
      p = { query, slots };
      byEngine.set(engine, p);
    }
    const { query, slots } = p;
    const parameters = slots.map((s, i) => (s >= 0 ? args[s] : query.parameters[i]));
    return await db.executeQuery<O>({ ...query, parameters });
  };
}
