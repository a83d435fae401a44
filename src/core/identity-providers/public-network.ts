// Where Latchkey connects for an upstream provider whose addresses a tenant's staff chose: the
// public internet only. Otherwise a tenant's staff could point "their provider" at the machine's
// own services or the cloud's metadata address and read what Latchkey fetches there (SSRF). The
// check runs at every connection, on the addresses the name resolves to then (a name that
// resolved outside when saved and inside later is refused too), and on IP literals, which are
// not resolved. Providers a superuser or the operator saved, and every provider of a development
// server (PUBLIC_URL on loopback http), connect anywhere.
import net from 'node:net';
import dns from 'node:dns';
import type { Agent } from 'undici';

const INTERNAL = new net.BlockList();
// IANA special-purpose ranges that are not the public internet (RFC 6890 and successors).
for (const [address, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) INTERNAL.addSubnet(address, prefix, 'ipv6');

/** Whether `ip` (v4 or v6, v4-mapped included) is outside the public internet. */
export function isInternalAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return INTERNAL.check(ip, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return INTERNAL.check(mapped[1]!, 'ipv4');
  // NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
  if (/^64:ff9b::/i.test(ip)) {
    const last = ip.slice(ip.lastIndexOf(':') + 1);
    if (net.isIPv4(last)) return INTERNAL.check(last, 'ipv4');
    const tail = ip.split(':').slice(-2).map((h) => parseInt(h || '0', 16));
    return INTERNAL.check(`${tail[0]! >> 8}.${tail[0]! & 255}.${tail[1]! >> 8}.${tail[1]! & 255}`, 'ipv4');
  }
  return INTERNAL.check(ip, 'ipv6');
}

/** A connection refused for going to the internal network: the provider's answer says so. */
export class InternalAddressError extends Error {
  readonly code = 'LK_INTERNAL_ADDRESS';
}

/** A URL's host when it is an IP literal on the internal network (never resolved, so checked here), or `localhost`. */
export function internalHostOf(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host)) return isInternalAddress(host) ? url.hostname : undefined;
  return host === 'localhost' || host.endsWith('.localhost') ? url.hostname : undefined;
}

const lookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const inside = addresses.find((a) => isInternalAddress(a.address));
    if (inside || addresses.length === 0) return callback(new InternalAddressError(`${hostname} is on the internal network`), '', 0);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

// undici (the connection's lookup hook) is loaded at the first guarded connection: an idle
// server, and one whose providers are all a superuser's, never needs it.
let agent: Promise<Agent> | undefined;

/** fetch, connecting to public addresses only (throws InternalAddressError, directly or as the cause of a TypeError). */
export const publicFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const host = internalHostOf(url);
  if (host) throw new InternalAddressError(`${host} is on the internal network`);
  agent ??= import('undici').then(({ Agent }) => new Agent({ connect: { lookup } }));
  return fetch(input, { ...init, dispatcher: await agent } as RequestInit);
};

/** Whether `err`, or one of its causes, is a refused internal connection. */
export function isInternalRefusal(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof InternalAddressError || (e as { code?: unknown }).code === 'LK_INTERNAL_ADDRESS') return true;
  }
  return false;
}
