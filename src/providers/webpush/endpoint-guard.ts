import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { ipMatcher, normalizeIp } from '../../lib/ip-range.js';

/**
 * Keeps Web Push requests off the operator's own network. An endpoint is caller data
 * (a browser subscription stored by the app), so a crafted one could aim Herald at
 * 169.254.169.254 or an internal service. Refused unless `allowPrivateEndpoints`:
 * http://, and any address in the ranges below — checked on the URL when it names an
 * IP, and on every address DNS returns for a host name, at connect time (so a name
 * cannot resolve to a public address for the check and a private one for the connect).
 */

const forbiddenRanges = [
  // IPv4: "this network", private, CGNAT, loopback, link-local, IETF protocol, documentation, benchmarking, multicast, reserved and broadcast.
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24',
  '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
  // IPv6: unspecified, loopback and IPv4-compatible (::/96), unique-local, link-local, multicast, documentation, NAT64 and 6to4 (both embed any IPv4 address).
  '::/96', 'fc00::/7', 'fe80::/10', 'ff00::/8', '2001:db8::/32', '64:ff9b::/96', '2002::/16',
];

const matches = ipMatcher(forbiddenRanges);

/** IPv4-mapped IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`) is judged as the IPv4 address it maps. */
export function isForbiddenAddress(address: string): boolean {
  return matches(normalizeIp(address));
}

export type EndpointCheck = { ok: true } | { ok: false; detail: string };

/** What can be judged from the URL alone: the scheme, and a host that is an IP address. */
export function checkEndpointUrl(url: URL, allowPrivate: boolean): EndpointCheck {
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) return { ok: false, detail: `endpoint scheme ${url.protocol} refused: push services are https` };
  if (allowPrivate) return { ok: true };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && isForbiddenAddress(host)) return { ok: false, detail: `endpoint address ${host} is private, loopback, link-local or reserved` };
  return { ok: true };
}

/** The error a guarded lookup fails with; its message names the address. */
export const FORBIDDEN_ADDRESS = 'EHERALD_FORBIDDEN_ADDRESS';

/**
 * A `lookup` for the https agent: resolves as node would, then refuses the name if
 * any address it resolves to is forbidden (a name answering with one public and one
 * private address is refused, not filtered: it is not a push service).
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: typeof options.family === 'number' ? options.family : 0, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = allowPrivate ? undefined : addresses.find((entry) => isForbiddenAddress(entry.address));
      if (bad) {
        const error: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${bad.address}, a private, loopback, link-local or reserved address`);
        error.code = FORBIDDEN_ADDRESS;
        return callback(error, []);
      }
      const first = addresses[0];
      if (!first) {
        const error: NodeJS.ErrnoException = new Error(`${hostname} has no address`);
        error.code = 'ENOTFOUND';
        return callback(error, []);
      }
      if (options.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}
