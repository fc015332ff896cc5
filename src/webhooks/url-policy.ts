import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Where a production platform must not send webhooks: its own host, its private networks, the
 * link-local range of cloud metadata services (a webhook URL must not reach inside). */
const INTERNAL = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  INTERNAL.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) INTERNAL.addSubnet(net, prefix, 'ipv6');

export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return INTERNAL.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  return family === 0 ? true : INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface UrlPolicy {
  production: boolean;
  allowPrivate: boolean;
}

const resolveAll = (host: string) =>
  new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(host, { all: true }, (e, addresses) => (e ? reject(e) : resolve(addresses))));

/** Why a webhook URL is refused, or undefined when it is acceptable. */
export async function refuseUrl(text: string, policy: UrlPolicy): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${JSON.stringify(text)} is not an absolute URL.`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `A webhook URL is http:// or https://, not ${url.protocol}//.`;
  if (url.username || url.password) return 'A webhook URL carries no user name or password: verify deliveries by their signature.';
  if (url.hash) return 'A webhook URL has no fragment (#…).';
  if (!policy.production) return undefined;
  if (url.protocol !== 'https:') return 'In production a webhook URL must be https://.';
  if (policy.allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await resolveAll(host)).map((a) => a.address);
  } catch {
    return `The host ${host} of the webhook URL does not resolve.`;
  }
  if (addresses.length === 0 || addresses.some(isInternalAddress)) {
    return `The host ${host} resolves to a loopback, private or link-local address, which production does not deliver to (WEBHOOK_ALLOW_PRIVATE=true allows it).`;
  }
  return undefined;
}

/** A DNS lookup for delivery connections that refuses internal addresses: the address checked is
 * the address connected to, so a name that changes its answer after the URL was accepted gains nothing. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (e, addresses: LookupAddress[]) => {
    if (e) return (callback as (e: Error | null, a: LookupAddress[]) => void)(e, []);
    const allowed = addresses.filter((a) => !isInternalAddress(a.address));
    if (allowed.length === 0) {
      const refused = Object.assign(new Error(`${hostname} resolves to an internal address only`), { code: 'EADDRNOTALLOWED' });
      return (callback as (e: Error | null, a: LookupAddress[]) => void)(refused, []);
    }
    if ((options as { all?: boolean }).all) return (callback as (e: Error | null, a: LookupAddress[]) => void)(null, allowed);
    return (callback as (e: Error | null, a: string, f: number) => void)(null, allowed[0]!.address, allowed[0]!.family);
  });
};

/** `WEBHOOK_RETRY_SCHEDULE`: comma-separated durations such as `5s,5m,30m,2h` (ms, s, m, h). */
export function parseSchedule(text: string): number[] | undefined {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const parts = text.split(',').map((p) => /^\s*(\d+)(ms|s|m|h)\s*$/.exec(p));
  if (parts.length === 0 || parts.some((m) => !m)) return undefined;
  return parts.map((m) => Number(m![1]) * units[m![2]!]!);
}
