// bench/peer/ as the shared load harness (../shared/peers/bench.sh) drives it: start.sh PORT in
// the foreground on a fresh database, seed.sh PORT, then each scenario of peer.json sent once by
// hand with its `check` field (what the harness does before the load), and hashcost.sh N.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort, request, spawnTracked, until, type Proc } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';

const PEER = path.join(ROOT, 'bench/peer');

interface PeerRequest { method: string; path: string; json?: Record<string, string>; form?: Record<string, string>; basic?: { user: string; password: string }; headers?: Record<string, string> }
interface PeerJson {
  ready: string;
  auth: { request: PeerRequest; extract: Record<string, string> };
  scenarios: { name: string; check: string; request: PeerRequest }[];
  unsupported?: Record<string, string>;
}

const BENCH = { BENCH_USERNAME: 'bench', BENCH_PASSWORD: 'bench-password-123', BENCH_CLIENT_ID: 'bench-client', BENCH_CLIENT_SECRET: 'bench-client-secret-7c1e5a9d3b2f4e6a8c0d1f3b5a7e9c2d' };
/** `${name}` placeholders, as the harness fills them. */
const fill = (s: string, vars: Record<string, string>) => s.replace(/\$\{(\w+)\}/g, (_, k: string) => vars[k] ?? '');
const fillAll = <T>(v: T, vars: Record<string, string>): T => JSON.parse(fill(JSON.stringify(v), vars));
/** `json:a.b` from a parsed body. */
const pick = (body: any, spec: string) => spec.slice('json:'.length).split('.').reduce((o, k) => o?.[k], body);

function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const p = spawnTracked(path.join(PEER, script), args, { env });
  return p.exited.then(({ code }) => ({ code, output: p.output() }));
}

describe('bench/peer: Latchkey as a peer of the shared load harness', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let server: Proc;
  const peer = JSON.parse(fs.readFileSync(path.join(PEER, 'peer.json'), 'utf8')) as PeerJson;
  noteSecret(BENCH.BENCH_PASSWORD);

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-peer-'));
    env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PEERS_DATA_DIR: dataDir, EXTRA_USERS: '20' };
    port = await freePort();
    server = spawnTracked(path.join(PEER, 'start.sh'), [String(port)], { env });
    const up = await until(async () => (await request(`http://127.0.0.1:${port}`, 'GET', peer.ready, { timeoutMs: 1000 })).status === 200, 60_000, 100);
    assert.ok(up, `start.sh did not answer ${peer.ready}: ${server.output()}`);
  });
  after(async () => {
    await server?.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('seed.sh creates the bench user and the extra users, and can run again', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await run('seed.sh', [String(port)], env);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /users total 21\b/);
    }
  });

  it('every scenario of peer.json passes its check, as the harness probes it before the load', async () => {
    const base = `http://127.0.0.1:${port}`;
    const send = (req: PeerRequest, vars: Record<string, string>) => {
      const r = fillAll(req, vars);
      // `basic`: RFC 6749 §2.3.1 client authentication, as the harness sends it.
      const basic: Record<string, string> = r.basic ? { authorization: `Basic ${Buffer.from(`${r.basic.user}:${r.basic.password}`).toString('base64')}` } : {};
      return request(base, r.method, r.path, { json: r.json, form: r.form, headers: { ...r.headers, ...basic } });
    };
    const auth = await send(peer.auth.request, BENCH);
    assert.equal(auth.status, 200, auth.text);
    const vars: Record<string, string> = { ...BENCH };
    for (const [name, spec] of Object.entries(peer.auth.extract)) vars[name] = String(pick(auth.body, spec));
    assert.deepEqual(peer.scenarios.map((s) => s.name).sort(), ['client-credentials', 'introspect', 'list', 'login', 'me']);
    for (const sc of peer.scenarios) {
      const r = await send(sc.request, vars);
      assert.ok(r.status >= 200 && r.status < 300, `${sc.name}: ${r.status} ${r.text}`);
      assert.notEqual(pick(r.body, sc.check), undefined, `${sc.name}: ${sc.check} missing`);
    }
    const me = await send(peer.scenarios.find((s) => s.name === 'me')!.request, vars);
    assert.equal(me.body.username, 'bench');
    const list = await send(peer.scenarios.find((s) => s.name === 'list')!.request, vars);
    assert.equal(list.body.count, 21, 'the bench user is staff: it sees every user of its tenant');
    assert.ok(peer.unsupported?.refresh, 'refresh is declared unsupported, with the reason');
  });

  it('hashcost.sh prints the time of one argon2id hash first, as the harness reads it', async () => {
    const r = await run('hashcost.sh', ['2'], env);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output.trim(), /^\d+(\.\d+)? argon2id m=19456 t=2 p=1 /);
  });
});
