// Pending sign-ins in one process's memory: a second implementation of the core's narrow
// PendingFlowsRepo (core/sign-in/pending-flows.ts), held to the same contract cases as the SQL
// one (test/store/store-contract.test.ts). No other instance can continue a flow kept here, so
// it is a reference for tests and single-process tools, not for a deployment.
import type { PendingFlowRecord, PendingFlowsRepo } from '../../core/sign-in/pending-flows.ts';

export function memoryPendingFlows(): PendingFlowsRepo {
  // Copies in and out, as a database gives: a caller changing a record changes nothing stored.
  const flows = new Map<string, { flow: PendingFlowRecord; usedAt: number | null }>();
  return {
    async insert(flow) {
      if (flows.has(flow.tokenHash)) throw new Error('a pending sign-in with this token exists');
      flows.set(flow.tokenHash, { flow: structuredClone(flow), usedAt: null });
    },
    async find(tokenHash) {
      const e = flows.get(tokenHash);
      return e && e.usedAt === null ? structuredClone(e.flow) : undefined;
    },
    async consume(tokenHash, now) {
      const e = flows.get(tokenHash);
      if (!e || e.usedAt !== null) return false;
      e.usedAt = now;
      return true;
    },
    async deleteExpired(now) {
      for (const [hash, e] of flows) if (e.flow.expiresAt <= now) flows.delete(hash);
    },
  };
}
