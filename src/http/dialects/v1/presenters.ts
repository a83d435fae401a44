import type { Group, User } from '../../../core/index.ts';

export const presentUser = (u: User) => ({
  id: u.id, username: u.username, tenant_id: u.tenantName, email: u.email, first_name: u.firstName, last_name: u.lastName,
});

export const presentGroup = (g: Group) => ({ id: g.id, name: g.name });
