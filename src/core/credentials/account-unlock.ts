// An administrator lifting a user's sign-in lock (as a password reset does).
import type { LoginThrottle } from './login-throttle.ts';
import { requireUserManager } from '../permissions.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { Principal } from '../types.ts';
import type { UsersService } from '../users/users-service.ts';

export class AccountUnlock {
  private readonly d: { users: UsersService; tenants: TenantsService; throttle: LoginThrottle };

  constructor(deps: AccountUnlock['d']) {
    this.d = deps;
  }

  async unlock(p: Principal, userId: string): Promise<void> {
    const user = await this.d.users.get(p, userId);
    requireUserManager(p, user);
    const tenant = (await this.d.tenants.byPk(user.tenantPk))!;
    await this.d.throttle.unlock(tenant, user.username, user.email);
  }
}
