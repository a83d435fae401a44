// The hosted pages' interface for other front-ends (the OpenID provider's interactions): the
// context a page is drawn with, the renderers, the form-token check, and how a page is sent.
//
//   const ctx = await pageContext(core, request, { tenant, uiLocales });   // sets the form cookie if needed
//   if (!verifyFormCsrf(request, body.csrf_token)) -> 403 with renderError(ctx, ...)
//   sendPage(reply, renderSignIn(ctx, { action, error, loginHint }), 200, { formAction: 'any' });
//
// The sign-in form posts `login`, `password`, `csrf_token`; the consent form `csrf_token` and
// `decision` (`allow` | `deny`). signInErrorMessage turns what the sign-in flow threw into the
// page's words (the same for an unknown account and a wrong password).
export { pageContext, verifyFormCsrf, configurePages, type PageContext, type Theme } from './context.ts';
export { renderSignIn, renderConsent, renderError, renderRateLimited, renderSignedOut, renderLogoutConfirm, type SignInView, type ConsentView, type ErrorView } from './views.ts';
export { sendPage, sendRateLimited, pageHeaders, stylesheet } from './layout.ts';
export { signInErrorMessage } from './messages.ts';
export { chooseLocale, type Locale } from './locales/index.ts';
export { hostedPages } from './routes.ts';
// The second factor's step (the OpenID interaction shows it too) and the pages' room for passkeys.
export { renderMfaCode, renderRecoveryUsed, type MfaCodeView } from './mfa-views.ts';
export { finishPagesSignIn } from './mfa-routes.ts';
export { setFlowCookie, clearFlowCookie, flowCookie, setTrustCookie, trustCookie } from './mfa-cookies.ts';
export { addSecuritySection, addSignInExtra, drawSignInExtras, type SecuritySection, type SignInExtra, type SignInExtraContext } from './extensions.ts';
// Passkeys: the ceremony page, the form's answer, and the offers under the sign-in forms.
export { renderPasskeyCeremony, type PasskeyCeremonyView } from './passkey-views.ts';
export { credentialOf, missingCredential, registerPasskeyParts, secondStepOptions } from './passkey-routes.ts';
export { methodsOfFlow, renderCodeStep } from './mfa-routes.ts';
export { tenantPrefix } from './context.ts';
