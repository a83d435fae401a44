// Sign-ins waiting on a step, kept in the database so that any instance can continue them. The
// front-end holds the flow's token; only its SHA-256 is stored, a flow is used at most once
// (`consume`), and it expires.
import type { Issue, PendingStep } from './sign-in-request.ts';

/** allauth's LOGIN_TIMEOUT: a pending sign-in lives 15 minutes. */
export const PENDING_FLOW_LIFETIME_MS = 15 * 60_000;

export interface PendingFlowRecord {
  tokenHash: string;
  tenantPk: number;
  userPk: number;
  clientPk: number | null;
  scopes: string[];
  issue: Issue;
  /** The first factor that began it (for the audit log). */
  method: string;
  step: PendingStep;
  /** What the sign-in has proven so far (`pwd`, then `otp`, ...): the session it ends in records it. */
  amr: string[];
  createdAt: number;
  expiresAt: number;
}

/** What the sign-in flow needs stored; the store implements it. */
export interface PendingFlowsRepo {
  insert(flow: PendingFlowRecord): Promise<void>;
  find(tokenHash: string): Promise<PendingFlowRecord | undefined>;
  /** Uses the flow up; false when another request did first (so at most one completes it). */
  consume(tokenHash: string, now: number): Promise<boolean>;
  deleteExpired(now: number): Promise<void>;
}
