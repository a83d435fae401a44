// The sign-in page's buttons for the tenant's enabled upstream identity providers: each starts
// REST-auth's login URL (core.upstreamSignIn), which comes back with the same `sessionid`
// session the pages use, to `next` (or the account page).
import type { Core } from '../../core/index.ts';
import type { PageContext } from './context.ts';

export async function upstreamButtons(core: Core, ctx: PageContext, next: string | undefined): Promise<{ name: string; href: string }[]> {
  const providers = await core.identityProviders.enabled(ctx.tenant.pk);
  return providers.map((p) => {
    const q = new URLSearchParams({ ...(ctx.tenant.name === 'default' ? {} : { tenant: ctx.tenant.name }), next: next || `${ctx.prefix}/account/` });
    return { name: p.name, href: `/api/auth/social/${encodeURIComponent(p.slug)}/login/?${q}` };
  });
}
