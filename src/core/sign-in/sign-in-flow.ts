// The sign-in: one small state machine for every front-end. A sign-in runs its steps in order
//
//   tenant -> client -> first factor (throttle, credential) -> account state -> requirements -> complete
//                                                                                  |
//                                                                                  +-> pending (a step) -> continue -> requirements -> complete
//
// and either completes (its writes and audit row in one transaction, whoever asked) or stops at
// the first unmet requirement. A front-end that can continue (`continuable`) gets the flow's
// token and continues it with a later request; one that cannot gets SIGN_IN_PENDING, which it
// says in its own error shape. A new first factor is an entry in FirstFactors, a new step an
// entry in REQUIREMENTS: neither touches the front-ends.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import { DomainError, tokenInvalid } from '../errors.ts';
import { randomToken, sha256 } from '../secrets.ts';
import type { ClientsService } from '../clients/clients-service.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { Client, Tenant, User } from '../types.ts';
import { standing } from '../authentication/credential-rule.ts';
import type { FirstFactor, FirstFactorProof, FirstFactors } from './first-factors.ts';
import { prepareIssue, type IssuerDeps } from './issuers.ts';
import { PENDING_FLOW_LIFETIME_MS, type PendingFlowRecord } from './pending-flows.ts';
import { REQUIREMENTS, requirementOf, type Requirement } from './requirements.ts';
import type { Issue, Issued, PendingStep, SignInOutcome, SignInRequest, StepInput } from './sign-in-request.ts';

/** The second factors, as the flow needs them (core/mfa/second-factors.ts). */
export interface SecondFactorStep {
  enrolled(userPk: number): Promise<boolean>;
  trusts(token: string, user: User): Promise<boolean>;
  verify(tenant: Tenant, user: User, input: { code: string } | { webauthn: unknown }): Promise<{ method: string; recoveryCodesLeft?: number }>;
}

/** Confirms an address by the key of its verification e-mail; answers whose address it was. */
export interface EmailConfirmation {
  confirm(key: string, ofUser: number): Promise<{ userPk: number }>;
}

interface FlowState {
  tenant: Tenant;
  user: User;
  client: Client | undefined;
  scopes: string[];
  issue: Issue;
  method: string;
  /** What the sign-in has proven so far. */
  amr: string[];
  /** The browser's trust token, checked when the second factor is due (never stored). */
  trustToken?: string;
  /** Said after a recovery code signed in. */
  recoveryCodesLeft?: number;
  /** Completed for setting up a second factor only (Requirement.enrolment): no tokens are issued. */
  mustEnrol?: boolean;
}

export class SignInFlow {
  private readonly d: {
    store: Store; clock: Clock; events: Events; tenants: TenantsService; clients: ClientsService; settings: SettingsService;
    factors: FirstFactors; issuers: IssuerDeps; emails: EmailConfirmation; secondFactors: SecondFactorStep;
  };

  constructor(deps: SignInFlow['d']) {
    this.d = deps;
  }

  /** Starts a sign-in: completes it, or leaves it pending at a step (refused when the front-end cannot continue). */
  async start(req: SignInRequest): Promise<SignInOutcome> {
    const tenant = await this.d.tenants.resolve(req.tenant);
    const scopes = req.scopes ?? [];
    this.checkClient(tenant, req, scopes);
    const proof = await this.proveFirstFactor(tenant, req);
    await this.checkAccountState(tenant, proof);
    await proof.accepted();
    const state: FlowState = {
      tenant, user: proof.user, client: req.client, scopes, issue: req.issue, method: req.factor.method,
      amr: proof.amr ?? [req.factor.method], trustToken: req.trustToken,
    };
    const unmet = await this.firstUnmet(state);
    if (unmet && !this.enrolsSignedIn(unmet, state, req.continuable ?? false)) return this.suspend(state, unmet, proof, req.continuable ?? false);
    return this.complete(state, () => proof.settle());
  }

  /**
   * Signs in for a front-end that cannot show a pending step (the legacy APIs, HTTP Basic):
   * what was issued, or SIGN_IN_PENDING with the step's message.
   */
  async now<K extends Issue['kind']>(req: Omit<SignInRequest, 'continuable' | 'issue'> & { issue: Extract<Issue, { kind: K }> }): Promise<{ user: User; tenant: Tenant; issued: Extract<Issued, { kind: K }> }> {
    const outcome = await this.start({ ...req, continuable: false });
    // Not continuable: start() completed with what was asked, or threw.
    if (outcome.status !== 'completed') throw this.pendingError(outcome.step);
    return { user: outcome.user, tenant: outcome.tenant, issued: outcome.issued as Extract<Issued, { kind: K }> };
  }

  /** What a front-end that cannot continue a pending step answers (as `now` throws): SIGN_IN_PENDING with the step. */
  pendingError(step: PendingStep): DomainError {
    return new DomainError('SIGN_IN_PENDING', requirementOf(step).message, { step });
  }

  /**
   * Signs in an account this very request made (registration signs its new user in): there is no
   * first factor to check, but the same requirements and the same completion as any sign-in.
   */
  async newAccount<K extends Issue['kind']>(user: User, issue: Extract<Issue, { kind: K }>): Promise<{ issued: Extract<Issued, { kind: K }> }> {
    const tenant = await this.d.tenants.byPk(user.tenantPk);
    if (!tenant?.isActive || !user.isActive) throw new DomainError('TENANT_UNAVAILABLE', 'This tenant is not available.');
    const state: FlowState = { tenant, user, client: undefined, scopes: [], issue, method: 'registration', amr: [] };
    const unmet = await this.firstUnmet(state);
    if (unmet) throw new DomainError('SIGN_IN_PENDING', unmet.message, { step: unmet.step });
    const outcome = await this.complete(state, async () => {});
    return { issued: (outcome as Extract<SignInOutcome, { status: 'completed' }>).issued as Extract<Issued, { kind: K }> };
  }

  /**
   * Signs in an account this request made with its first factor (a sign-up by passkey: the
   * passkey just registered proved `amr`), for a front-end that can continue: completed, or
   * pending at the first unmet requirement (an address to verify), as `start` answers.
   */
  async startNewAccount(user: User, opts: { issue: Issue; amr: string[]; method: string }): Promise<SignInOutcome> {
    const tenant = await this.d.tenants.byPk(user.tenantPk);
    if (!tenant?.isActive || !user.isActive) throw new DomainError('TENANT_UNAVAILABLE', 'This tenant is not available.');
    const state: FlowState = { tenant, user, client: undefined, scopes: [], issue: opts.issue, method: opts.method, amr: opts.amr };
    const unmet = await this.firstUnmet(state);
    if (unmet && !this.enrolsSignedIn(unmet, state, true)) return this.suspend(state, unmet, undefined, true);
    return this.complete(state, async () => {});
  }

  /** The step a pending sign-in waits on, or undefined when its token is unknown, used or expired (front-ends that show it). */
  async pending(flowToken: string): Promise<{ step: PendingStep; expiresAt: number; user: User; tenantPk: number } | undefined> {
    if (flowToken.length === 0 || flowToken.length > 200) return undefined;
    const flow = await this.d.store.read.pendingFlows.find(sha256(flowToken));
    if (!flow || flow.expiresAt <= this.d.clock.now()) return undefined;
    const user = await this.d.store.read.users.findByPk(flow.userPk);
    if (!user) return undefined;
    return { step: flow.step, expiresAt: flow.expiresAt, user, tenantPk: flow.tenantPk };
  }

  /** Continues a pending sign-in with what its step asked for. */
  async continue(flowToken: string, input: StepInput): Promise<SignInOutcome> {
    const tokenHash = flowToken.length > 0 && flowToken.length <= 200 ? sha256(flowToken) : undefined;
    const flow = tokenHash ? await this.d.store.read.pendingFlows.find(tokenHash) : undefined;
    if (!flow || flow.expiresAt <= this.d.clock.now() || flow.step !== input.step) throw flowInvalid();
    const state = await this.resume(flow);
    if (input.step === 'verify_email' && input.key !== undefined) {
      // A key of another account's address does not continue this one's sign-in (nor is it spent).
      // A wrong key leaves the flow pending (VALIDATION_FAILED, as the verify-email endpoints answer).
      await this.d.emails.confirm(input.key, state.user.pk);
      state.user = (await this.d.store.read.users.findByPk(state.user.pk)) ?? state.user;
    }
    if (input.step === 'mfa_authenticate') {
      // A wrong code leaves the flow pending under the same token (VALIDATION_FAILED on `code`), counted in the throttle.
      const proved = await this.d.secondFactors.verify(state.tenant, state.user, 'code' in input ? { code: input.code } : { webauthn: input.webauthn });
      state.amr = [...new Set([...state.amr, proved.method])];
      state.recoveryCodesLeft = proved.recoveryCodesLeft;
    }
    const unmet = await this.firstUnmet(state);
    if (unmet && !this.enrolsSignedIn(unmet, state, true)) {
      if (unmet.step === flow.step) return { status: 'pending', step: unmet.step, flowToken, expiresAt: flow.expiresAt, user: state.user, tenant: state.tenant };
      // Met, but another step follows: the flow moves on under a new token (each token works once).
      if (!(await this.d.store.transaction((r) => r.pendingFlows.consume(flow.tokenHash, this.d.clock.now())))) throw flowInvalid();
      return this.suspend(state, unmet, undefined, true);
    }
    return this.complete(state, async () => {
      if (!(await this.d.store.read.pendingFlows.consume(flow.tokenHash, this.d.clock.now()))) throw flowInvalid();
    });
  }

  /**
   * Whether `unmet` is set up once signed in, by a front-end that shows it, with a session (the
   * only credential that knows it may do nothing else: Principal `mustEnrol`).
   */
  private enrolsSignedIn(unmet: Requirement, state: FlowState, continuable: boolean): boolean {
    const ok = unmet.enrolment === true && continuable && (state.issue.kind === 'session' || state.issue.kind === 'session_and_key');
    if (ok) state.mustEnrol = true;
    return ok;
  }

  /** A client must belong to the tenant, be registered for the grant it signs in by, and ask only its scopes. */
  private checkClient(tenant: Tenant, req: SignInRequest, scopes: string[]): void {
    if (req.client && req.client.tenantPk !== tenant.pk) throw new DomainError('INVALID_CLIENT', 'Unknown client id.');
    if (req.grantType) this.d.clients.checkGrant(req.client, req.grantType, scopes);
  }

  private proveFirstFactor(tenant: Tenant, req: SignInRequest): Promise<FirstFactorProof> {
    // Each factor takes its own input: the method names both.
    const factor = this.d.factors[req.factor.method] as FirstFactor;
    return factor.prove(tenant, req.factor);
  }

  /** A sign-in stands only for an active account of this tenant; the refusal is the factor's own failure. */
  private async checkAccountState(tenant: Tenant, proof: FirstFactorProof): Promise<void> {
    if (!proof.user.isActive || proof.user.tenantPk !== tenant.pk) await proof.refuse('inactive');
  }

  private async firstUnmet(state: FlowState): Promise<Requirement | undefined> {
    const settings = await this.d.settings.forTenant(state.tenant.pk);
    const secondFactor = await this.d.secondFactors.enrolled(state.user.pk);
    const trusted = secondFactor && state.trustToken !== undefined && (await this.d.secondFactors.trusts(state.trustToken, state.user));
    return REQUIREMENTS.find((r) => !r.isMet({ user: state.user, tenant: state.tenant, settings, amr: state.amr, secondFactor, trusted }));
  }

  /** Leaves the sign-in at `unmet`: the first factor was right, so its failure count starts again. */
  private async suspend(state: FlowState, unmet: Requirement, proof: FirstFactorProof | undefined, continuable: boolean): Promise<SignInOutcome> {
    if (!continuable) {
      if (proof) await this.d.store.transaction(() => proof.settle());
      throw new DomainError('SIGN_IN_PENDING', unmet.message, { step: unmet.step });
    }
    const flowToken = randomToken(32);
    const now = this.d.clock.now();
    const record: PendingFlowRecord = {
      tokenHash: sha256(flowToken), tenantPk: state.tenant.pk, userPk: state.user.pk, clientPk: state.client?.pk ?? null, scopes: state.scopes,
      issue: state.issue, method: state.method, step: unmet.step, amr: state.amr, createdAt: now, expiresAt: now + PENDING_FLOW_LIFETIME_MS,
    };
    await this.d.store.transaction(async (r) => {
      if (proof) await proof.settle();
      await r.pendingFlows.insert(record);
    });
    return { status: 'pending', step: unmet.step, flowToken, expiresAt: record.expiresAt, user: state.user, tenant: state.tenant };
  }

  /** The state of a stored flow, if its account, tenant and client still stand. */
  private async resume(flow: PendingFlowRecord): Promise<FlowState> {
    const user = await this.d.store.read.users.findByPk(flow.userPk);
    const tenant = await this.d.tenants.byPk(flow.tenantPk);
    if (!user || !tenant || standing(user, tenant, flow.tenantPk) !== 'stands') throw flowInvalid();
    const client = flow.clientPk === null ? undefined : await this.d.clients.byPk(flow.clientPk);
    if (flow.clientPk !== null && !client) throw flowInvalid();
    return { tenant, user, client, scopes: flow.scopes, issue: flow.issue, method: flow.method, amr: flow.amr };
  }

  /** Every write of a successful sign-in, its audit row included, in one transaction. */
  private async complete(state: FlowState, settle: () => Promise<void>): Promise<SignInOutcome> {
    const work = await prepareIssue(this.d.issuers, state.issue, state);
    const now = this.d.clock.now();
    await this.d.store.transaction(async (r) => {
      await settle();
      if (work.audit === null) return;
      await r.users.update(state.user.pk, { lastLogin: now });
      await work.write(r);
      await this.d.events.emit({ type: 'sign_in.succeeded', tenantPk: state.tenant.pk, userPk: state.user.pk, detail: work.audit });
    });
    const issued: Issued = await work.finish();
    return { status: 'completed', user: state.user, tenant: state.tenant, issued, amr: state.amr, recoveryCodesLeft: state.recoveryCodesLeft, ...(state.mustEnrol ? { mustEnrol: true } : {}) };
  }
}

const flowInvalid = () => tokenInvalid('This sign-in has expired or is unknown. Sign in again.');
