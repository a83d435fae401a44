// Room on the pages for parts drawn by other modules (passkeys: pages/passkeys.ts). A module adds
// a section to the Security page, or something under the sign-in form, the code form or the
// sign-up form (a "sign in with a passkey" button, "use a passkey instead", "sign up with a
// passkey instead"), once at start-up; each is drawn with the page's context and escapes what it
// shows through `html`. Sections are drawn in the order they were added.
import type { Core, Principal } from '../../core/index.ts';
import type { PageContext } from './context.ts';
import type { SafeHtml } from './html.ts';

export interface SecuritySection {
  /** A stable name (one section per name: adding it again replaces it). */
  name: string;
  /** The section's inner HTML (its own <h2>), or undefined to leave it out for this user. */
  render(ctx: PageContext, d: { core: Core; principal: Principal }): Promise<SafeHtml | undefined>;
}

export interface SignInExtra {
  name: string;
  /**
   * Drawn under a sign-in form: `step` says which (the password form, the second factor's code
   * form, whose flow token is in the `latchkey_signin` cookie: mfa-cookies.ts, or the standalone
   * sign-up form, drawn only while the tenant's registration is open), `context`
   * which sign-in (the standalone page, or an OpenID interaction), `action` where its form posts.
   */
  render(ctx: PageContext, d: SignInExtraContext): SafeHtml | undefined;
}
export interface SignInExtraContext {
  context: 'pages' | 'oidc';
  step: 'password' | 'mfa' | 'signup';
  action: string;
  /** The standalone page's return path, to carry on. */
  next?: string;
  /** At the `mfa` step: the second-factor types the signing-in user has (`totp`, `webauthn`, ...). */
  methods?: readonly string[];
}

const securitySections: SecuritySection[] = [];
const signInExtras: SignInExtra[] = [];

export function addSecuritySection(s: SecuritySection): void {
  const i = securitySections.findIndex((x) => x.name === s.name);
  if (i >= 0) securitySections[i] = s;
  else securitySections.push(s);
}
export function addSignInExtra(s: SignInExtra): void {
  const i = signInExtras.findIndex((x) => x.name === s.name);
  if (i >= 0) signInExtras[i] = s;
  else signInExtras.push(s);
}

export async function drawSecuritySections(ctx: PageContext, d: { core: Core; principal: Principal }): Promise<SafeHtml[]> {
  const out = await Promise.all(securitySections.map((s) => s.render(ctx, d)));
  return out.filter((x): x is SafeHtml => x !== undefined);
}
export function drawSignInExtras(ctx: PageContext, d: SignInExtraContext): SafeHtml[] {
  return signInExtras.map((s) => s.render(ctx, d)).filter((x): x is SafeHtml => x !== undefined);
}
