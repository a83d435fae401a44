// The import use case: check every row first (fields, hash schemes, duplicates in the file,
// conflicts with the tenant's users), so that a rejected row means nothing is written; then
// write in batches, each in one transaction, so a failure leaves no half batch and the report
// says from which line nothing is in.
import { describeHash } from '../credentials/imported-hashes.ts';
import { emailProblem, nameProblem, normalizeEmail, normalizeUsername, usernameProblem, avatarProblem } from '../users/user-fields.ts';
import { GROUP_NAME_MAX } from '../groups/groups-service.ts';
import { GRANT_TYPES } from '../clients/clients-service.ts';
import { isSettingKey, parseSetting, formatSetting } from '../settings/settings-schema.ts';
import { isUuid, newUuid, randomToken, sha256 } from '../secrets.ts';
import type { ConflictPolicy, ImportItem, ImportReport, ImportedClient, ImportedUser, Rejection } from './records.ts';
import type { ImportBatch, ImportSink, PlannedClient, PlannedUser } from './import-sink.ts';

export interface ImportOptions {
  tenant: { pk: number; name: string };
  tenantCreated?: boolean;
  onConflict: ConflictPolicy;
  dryRun: boolean;
  now: number;
  /** Users per transaction. */
  batchSize?: number;
  /** Called after each batch is written (and once before the first) with users done and the total to write. */
  onProgress?: (done: number, total: number) => void;
}

const CLIENT_ID_RE = /^[A-Za-z0-9._~-]{1,100}$/;
const LOOKUP_CHUNK = 500;

async function chunked<T, R>(keys: T[], fn: (part: T[]) => Promise<R>, merge: (r: R) => void): Promise<void> {
  for (let i = 0; i < keys.length; i += LOOKUP_CHUNK) merge(await fn(keys.slice(i, i + LOOKUP_CHUNK)));
}

/** A user row's own problems (none of them needs the database), or the row made canonical. */
function checkUser(u: ImportedUser): { user: ImportedUser; scheme: string } | { reason: string } {
  const username = normalizeUsername(u.username);
  const up = usernameProblem(username);
  if (up) return { reason: `username ${JSON.stringify(u.username.slice(0, 160))}: ${up}` };
  const addresses = u.addresses.map((a) => ({ ...a, email: normalizeEmail(a.email) }));
  for (const a of addresses) {
    const ep = a.email === '' ? 'This field may not be blank.' : emailProblem(a.email);
    if (ep) return { reason: `user "${username}": address ${JSON.stringify(a.email.slice(0, 260))}: ${ep}` };
  }
  const seen = new Set<string>();
  for (const a of addresses) {
    if (seen.has(a.email.toLowerCase())) return { reason: `user "${username}": address "${a.email}" is listed twice` };
    seen.add(a.email.toLowerCase());
  }
  if (addresses.filter((a) => a.primary).length > 1) return { reason: `user "${username}": more than one primary address` };
  const primary = addresses.find((a) => a.primary);
  let email = primary ? primary.email : normalizeEmail(u.email);
  const ep = emailProblem(email);
  if (ep) return { reason: `user "${username}": email ${JSON.stringify(email.slice(0, 260))}: ${ep}` };
  // The user's own address is one of its addresses (as allauth keeps it), unverified unless the file says so.
  if (email && !seen.has(email.toLowerCase())) addresses.unshift({ email, verified: false, primary: addresses.length === 0 });
  if (!email && addresses.length) email = addresses[0].email;
  for (const [field, value] of [['first name', u.firstName], ['last name', u.lastName]] as const) {
    const np = nameProblem(value);
    if (np) return { reason: `user "${username}": ${field}: ${np}` };
  }
  if (u.avatar !== undefined) {
    const ap = avatarProblem(u.avatar);
    if (ap) return { reason: `user "${username}": avatar: ${ap}` };
  }
  if (u.id !== undefined && !isUuid(u.id)) return { reason: `user "${username}": id ${JSON.stringify(String(u.id).slice(0, 40))} is not a UUID` };
  for (const g of u.groups) {
    if (g.trim() === '' || [...g].length > GROUP_NAME_MAX) return { reason: `user "${username}": group ${JSON.stringify(g.slice(0, 160))} is not a valid group name` };
  }
  let scheme = 'none';
  if (u.passwordHash !== null) {
    const d = describeHash(u.passwordHash);
    if ('problem' in d) return { reason: `user "${username}": password hash: ${d.problem}` };
    scheme = d.scheme;
  }
  // In place: an import holds every row at once, and one copy of 100,000 users is enough.
  return { user: Object.assign(u, { username, email, addresses, groups: [...new Set(u.groups)] }), scheme };
}

function checkClient(c: ImportedClient): string | undefined {
  if (!CLIENT_ID_RE.test(c.clientId)) return `client ${JSON.stringify(c.clientId.slice(0, 120))}: use 1 to 100 letters, digits, ".", "_", "~" or "-"`;
  if (c.name.trim() === '' || [...c.name].length > 200) return `client "${c.clientId}": name must be 1 to 200 characters`;
  for (const g of c.grantTypes) {
    if (!(GRANT_TYPES as readonly string[]).includes(g)) return `client "${c.clientId}": grant type "${g}" is not one of ${GRANT_TYPES.join(', ')}`;
  }
  for (const u of c.redirectUris) {
    let ok = false;
    try {
      ok = new URL(u).hash === '' && u.length <= 2000;
    } catch {
      ok = false;
    }
    if (!ok) return `client "${c.clientId}": redirect URI ${JSON.stringify(u.slice(0, 200))} is not an absolute URI without a fragment`;
  }
  return undefined;
}

const emptyReport = (o: ImportOptions): ImportReport => ({
  tenant: o.tenant.name, tenantCreated: o.tenantCreated ?? false, dryRun: o.dryRun, onConflict: o.onConflict,
  users: { created: 0, updated: 0, skipped: 0 }, groups: { created: 0, existing: 0 }, clients: { created: 0, updated: 0, skipped: 0 },
  settings: 0, addresses: 0, memberships: 0, hashSchemes: {}, rejected: [], newIds: 0, clientSecrets: [], written: false,
});

export async function importRecords(items: Iterable<ImportItem>, sink: ImportSink, o: ImportOptions): Promise<ImportReport> {
  const report = emptyReport(o);
  const reject = (line: number, reason: string) => report.rejected.push({ line, reason });
  const users: Array<{ line: number; user: ImportedUser; scheme: string }> = [];
  const byName = new Map<string, number>();
  const verifiedIn = new Map<string, { line: number; username: string }>();
  const groups = new Map<string, number>();
  const settings = new Map<string, { line: number; value: string }>();
  const clients = new Map<string, { line: number; client: ImportedClient }>();

  // 1. Each row on its own, and against the file's other rows.
  for (const item of items) {
    switch (item.kind) {
      case 'rejected':
        reject(item.line, item.reason);
        break;
      case 'tenant':
        break; // the caller chose the tenant already
      case 'group': {
        const name = item.name;
        if (name.trim() === '' || [...name].length > GROUP_NAME_MAX) reject(item.line, `group ${JSON.stringify(name.slice(0, 160))}: not a valid group name`);
        else if (!groups.has(name)) groups.set(name, item.line);
        break;
      }
      case 'setting': {
        if (!isSettingKey(item.key)) {
          reject(item.line, `setting ${JSON.stringify(item.key.slice(0, 100))}: no such setting`);
          break;
        }
        const parsed = parseSetting(item.key, item.value);
        if ('error' in parsed) reject(item.line, `setting "${item.key}": ${parsed.error}`);
        else settings.set(item.key, { line: item.line, value: formatSetting(parsed.value) });
        break;
      }
      case 'client': {
        const problem = checkClient(item.client);
        const first = clients.get(item.client.clientId);
        if (problem) reject(item.line, problem);
        else if (first) reject(item.line, `client "${item.client.clientId}": listed twice (first on line ${first.line})`);
        else clients.set(item.client.clientId, { line: item.line, client: item.client });
        break;
      }
      case 'user': {
        const checked = checkUser(item.user);
        if ('reason' in checked) {
          reject(item.line, checked.reason);
          break;
        }
        const { user } = checked;
        const first = byName.get(user.username);
        if (first !== undefined) {
          reject(item.line, `user "${user.username}": duplicate username (first on line ${first})`);
          break;
        }
        const clash = user.addresses.find((a) => a.verified && verifiedIn.has(a.email.toLowerCase()));
        if (clash) {
          const other = verifiedIn.get(clash.email.toLowerCase())!;
          reject(item.line, `user "${user.username}": verified address "${clash.email}" is also verified by "${other.username}" (line ${other.line})`);
          break;
        }
        byName.set(user.username, item.line);
        for (const a of user.addresses) if (a.verified) verifiedIn.set(a.email.toLowerCase(), { line: item.line, username: user.username });
        for (const g of user.groups) if (!groups.has(g)) groups.set(g, item.line);
        users.push({ line: item.line, user, scheme: checked.scheme });
        break;
      }
    }
  }

  // 2. Against the tenant: who exists, who has verified which address, which ids and client ids are taken.
  const tenantPk = o.tenant.pk;
  const existing = new Map<string, { id: string }>();
  await chunked([...byName.keys()], (p) => sink.usersByUsername(tenantPk, p), (m) => m.forEach((v, k) => existing.set(k, v)));
  const owners = new Map<string, string>();
  (await sink.verifiedOwners(tenantPk, [...verifiedIn.keys()])).forEach((v, k) => owners.set(k, v));
  const askedIds = users.map((u) => u.user.id).filter((id): id is string => id !== undefined);
  const takenIds = new Set<string>();
  await chunked(askedIds, (p) => sink.takenUserIds(p), (s) => s.forEach((id) => takenIds.add(id)));
  const haveGroups = new Set<string>();
  await chunked([...groups.keys()], (p) => sink.existingGroups(tenantPk, p), (s) => s.forEach((g) => haveGroups.add(g)));
  const clientHome = new Map<string, number>();
  await chunked([...clients.keys()], (p) => sink.clientTenants(p), (m) => m.forEach((v, k) => clientHome.set(k, v)));

  const planned: Array<PlannedUser & { line: number }> = [];
  for (const { line, user, scheme } of users) {
    const found = existing.get(user.username);
    const clash = user.addresses.find((a) => a.verified && owners.has(a.email.toLowerCase()) && owners.get(a.email.toLowerCase()) !== user.username);
    if (clash) {
      const owner = owners.get(clash.email.toLowerCase());
      if (o.onConflict === 'skip') report.users.skipped++;
      else reject(line, `user "${user.username}": address "${clash.email}" is already verified by the tenant's user "${owner}"${o.onConflict === 'fail' ? ' (--on-conflict fail)' : ''}`);
      continue;
    }
    if (found) {
      if (o.onConflict === 'skip') {
        report.users.skipped++;
        continue;
      }
      if (o.onConflict === 'fail') {
        reject(line, `user "${user.username}": the tenant has a user of that name (--on-conflict fail)`);
        continue;
      }
      planned.push(Object.assign(user, { line, id: found.id, mode: 'update' as const }));
      report.users.updated++;
    } else {
      let id = user.id;
      if (id === undefined || takenIds.has(id)) {
        if (id !== undefined) report.newIds++;
        id = newUuid();
      }
      takenIds.add(id);
      planned.push(Object.assign(user, { line, id, mode: 'create' as const }));
      report.users.created++;
    }
    report.hashSchemes[scheme] = (report.hashSchemes[scheme] ?? 0) + 1;
    report.addresses += user.addresses.length;
    report.memberships += user.groups.length;
  }
  for (const g of groups.keys()) haveGroups.has(g) ? report.groups.existing++ : report.groups.created++;
  report.settings = settings.size;

  const plannedClients: PlannedClient[] = [];
  for (const { line, client } of clients.values()) {
    const home = clientHome.get(client.clientId);
    if (home !== undefined && home !== tenantPk) {
      reject(line, `client "${client.clientId}": that client id is registered in another tenant`);
      continue;
    }
    if (home !== undefined) {
      if (o.onConflict === 'skip') report.clients.skipped++;
      else if (o.onConflict === 'fail') reject(line, `client "${client.clientId}": the tenant has a client of that id (--on-conflict fail)`);
      else {
        plannedClients.push({ ...client, mode: 'update', secretHash: null });
        report.clients.updated++;
      }
      continue;
    }
    let secretHash: string | null = null;
    if (client.confidential && !o.dryRun) {
      const secret = randomToken(32);
      secretHash = sha256(secret);
      report.clientSecrets.push({ clientId: client.clientId, secret });
    }
    plannedClients.push({ ...client, mode: 'create', secretHash });
    report.clients.created++;
  }

  report.rejected.sort((a: Rejection, b: Rejection) => a.line - b.line);
  if (report.rejected.length > 0) report.clientSecrets = [];
  if (o.dryRun || report.rejected.length > 0) return report;

  // 3. Write, a batch per transaction; groups, settings and clients go with the first one.
  const size = Math.max(1, o.batchSize ?? 1000);
  const total = planned.length;
  o.onProgress?.(0, total);
  let done = 0;
  for (let i = 0; i === 0 || i < planned.length; i += size) {
    const part = planned.slice(i, i + size);
    const batch: ImportBatch = {
      now: o.now,
      users: part,
      groups: i === 0 ? [...groups.keys()] : [],
      settings: i === 0 ? [...settings].map(([key, s]) => ({ key, value: s.value })) : [],
      clients: i === 0 ? plannedClients : [],
    };
    try {
      await sink.writeBatch(tenantPk, batch);
    } catch (err) {
      const lines = part.map((u) => u.line);
      const fromLine = i === 0 ? 1 : Math.min(...lines);
      report.failure = { fromLine, toLine: lines.length ? Math.max(...lines) : fromLine, message: (err as Error).message, usersWritten: done };
      report.written = i > 0;
      report.clientSecrets = i > 0 ? report.clientSecrets : [];
      return report;
    }
    report.written = true;
    done += part.length;
    o.onProgress?.(done, total);
  }
  return report;
}
