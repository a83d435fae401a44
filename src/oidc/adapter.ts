// oidc-provider's adapter (its storage contract: upsert, find, findByUid, findByUserCode,
// consume, destroy, revokeByGrantId) over the core's OidcPayloadsRepo, one tenant per provider.
// Clients are not stored here: `Client` reads the tenant's registered clients.
import { createHash } from 'node:crypto';
import type { Core } from '../core/index.ts';
import { clientMetadata } from './clients.ts';
import type { ExpirySweep } from './sweep.ts';

/** oidc-provider keeps its own time (epoch seconds from the system clock), so its rows do too. */
const now = () => Date.now();

type Payload = Record<string, unknown>;

/** `sweep` is poked on every write (sweep.ts): expired rows of every tenant go at most once a minute. */
export function adapterClass(core: Core, tenantPk: number, sweep?: ExpirySweep) {
  const repo = () => core.store.read.oidcPayloads;
  return class LatchkeyAdapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      await core.store.transaction((r) => r.oidcPayloads.upsert({
        tenantPk, model: this.model, id, payload: JSON.stringify(payload),
        grantId: typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
        expiresAt: typeof expiresIn === 'number' ? now() + expiresIn * 1000 : null,
      }));
      sweep?.poke();
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.model === 'Client') return clientMetadata(core, tenantPk, id);
      // An access token's value is a JWT (src/oidc/tokens.ts) whose jti is the stored id.
      if ((this.model === 'AccessToken' || this.model === 'ClientCredentials') && id.includes('.')) {
        const jti = await jtiOfOwnJwt(core, id);
        if (!jti) return undefined;
        id = jti;
      }
      if (id.length > 200) return undefined;
      return out(await repo().find(tenantPk, this.model, id, now()));
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      return out(await repo().findByUid(tenantPk, uid, now()));
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      return out(await repo().findByUserCode(tenantPk, userCode, now()));
    }

    async consume(id: string): Promise<void> {
      await core.store.transaction((r) => r.oidcPayloads.consume(tenantPk, this.model, id, now()));
    }

    async destroy(id: string): Promise<void> {
      await core.store.transaction((r) => r.oidcPayloads.destroy(tenantPk, this.model, id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await core.store.transaction((r) => r.oidcPayloads.revokeByGrantId(tenantPk, grantId));
    }
  };
}

function out(r: { payload: string; consumedAt: number | null } | undefined): Payload | undefined {
  if (!r) return undefined;
  const payload = JSON.parse(r.payload) as Payload;
  // The contract marks a consumed code or refresh token by a truthy `consumed`: its reuse then
  // revokes the grant.
  return r.consumedAt === null ? payload : { ...payload, consumed: Math.floor(r.consumedAt / 1000) };
}

/** The jti of an access token this service signed (any tenant: the stored row then decides), or undefined. */
async function jtiOfOwnJwt(core: Core, token: string): Promise<string | undefined> {
  try {
    const claims = await core.accessTokens.verify(token);
    return claims.jti;
  } catch {
    return undefined;
  }
}

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');
