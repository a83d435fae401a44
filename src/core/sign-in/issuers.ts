// What a completed sign-in hands out, by the kind the front-end asked for. Each issuer prepares
// outside the transaction (reads, settings), writes its credential inside the one transaction
// that completes the sign-in (with the failure count's reset, last_login and the audit row),
// and finishes after the commit (signing an access token needs nothing from the database).
import type { Repos } from '../store.ts';
import type { Client, Tenant, User } from '../types.ts';
import type { SessionsService } from '../sessions/sessions-service.ts';
import type { TokenKeys } from '../credentials/token-keys.ts';
import type { Issue, Issued } from './sign-in-request.ts';

export interface IssueContext {
  user: User;
  tenant: Tenant;
  client: Client | undefined;
  scopes: string[];
  /** What the sign-in proved: the session records it (reauthentication, `amr` of ID tokens). */
  amr: string[];
  /** Signed in only to set up a second factor: a session, no tokens. */
  mustEnrol?: boolean;
}

export interface IssueWork {
  /** The audit row's detail: how the person signed in; null when nothing is issued, so nothing is recorded. */
  audit: Record<string, string | null> | null;
  write(r: Repos): Promise<void>;
  finish(): Promise<Issued>;
}

/** Makes a token pair of a new refresh family (core/tokens/token-pairs.ts). */
export interface PairMaker {
  /** `write`'s `sessionId`: the session the pair goes with (ending it ends the family). */
  prepare(ctx: IssueContext, refreshFormat: 'jwt' | 'opaque'): Promise<{ write(r: Repos, link?: { sessionId: string }): Promise<void>; finish(): Promise<{ access: string; refresh: string; expiresIn: number; scope: string }> }>;
}

export interface IssuerDeps {
  pairs: PairMaker;
  sessions: SessionsService;
  tokenKeys: TokenKeys;
}

export async function prepareIssue(d: IssuerDeps, issue: Issue, ctx: IssueContext): Promise<IssueWork> {
  switch (issue.kind) {
    case 'token_pair': {
      const pair = await d.pairs.prepare(ctx, issue.refreshFormat ?? 'opaque');
      return {
        audit: { method: 'jwt', client_id: ctx.client?.clientId ?? null },
        write: (r) => pair.write(r),
        finish: async () => ({ kind: 'token_pair', ...(await pair.finish()) }),
      };
    }
    case 'session_and_key': {
      let issued: Issued | undefined;
      return {
        audit: { method: 'token_key' },
        async write(r) {
          const session = await d.sessions.create(ctx.user, r, ctx.amr);
          issued = { kind: 'session_and_key', session, key: await d.tokenKeys.issue(r, ctx.user, session.id) };
        },
        finish: async () => issued!,
      };
    }
    case 'session': {
      const pair = issue.withTokens && !ctx.mustEnrol ? await d.pairs.prepare(ctx, 'opaque') : undefined;
      let session: Extract<Issued, { kind: 'session' }>['session'] | undefined;
      return {
        audit: { method: 'session', client_id: ctx.client?.clientId ?? null, amr: ctx.amr.join(' ') },
        async write(r) {
          session = await d.sessions.create(ctx.user, r, ctx.amr);
          // The pair belongs to the session: ending the session (signing out, auth/sessions) ends its tokens.
          if (pair) await pair.write(r, { sessionId: session.id });
        },
        async finish() {
          if (!pair) return { kind: 'session', session: session! };
          const t = await pair.finish();
          return { kind: 'session', session: session!, tokens: { access: t.access, refresh: t.refresh, expiresIn: t.expiresIn } };
        },
      };
    }
    case 'identity':
      return {
        audit: { method: 'interaction', client_id: ctx.client?.clientId ?? null },
        write: async () => {},
        finish: async () => ({ kind: 'identity', user: ctx.user, tenant: ctx.tenant, amr: ctx.amr }),
      };
    case 'request':
      // HTTP Basic proves one request: nothing is handed out, so nothing is written but the
      // failure count's reset (a row per request would flood the audit log).
      return {
        audit: null,
        write: async () => {},
        finish: async () => ({ kind: 'request', principal: { kind: 'user', user: ctx.user, tenant: ctx.tenant, method: 'basic', client: ctx.client } }),
      };
  }
}
