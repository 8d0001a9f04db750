import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ipMatcher, normalizeIp } from '../lib/ip-range.js';

/**
 * The address a WebSocket client connects from. X-Forwarded-For is believed only
 * when the peer is a trusted proxy (it is trivially forged otherwise), and then
 * read from the right: the first hop that is not itself a trusted proxy.
 */
export function clientAddressResolver(trustedProxies: readonly string[]): (req: IncomingMessage) => string {
  const trusted = ipMatcher(trustedProxies);
  return (req) => {
    let address = normalizeIp(req.socket.remoteAddress ?? '');
    if (!trusted(address)) return address;
    const header = req.headers['x-forwarded-for'];
    // Bounded: a header of thousands of hops is read only as far as its last 32.
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').slice(-32).reverse();
    for (const hop of hops) {
      const candidate = normalizeIp(hop.trim());
      if (isIP(candidate) === 0) break;
      address = candidate;
      if (!trusted(candidate)) break;
    }
    return address;
  };
}

/**
 * Open WebSocket connections per client address on this node. Counted from the
 * upgrade request to the TCP socket's close, so sockets still in their handshake count.
 */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  /** `max` 0 admits everyone. */
  constructor(private readonly max: number) {}

  /** Counts the connection and returns true, or returns false when the address is at its limit. */
  tryAdmit(address: string): boolean {
    if (this.max === 0) return true;
    const count = this.open.get(address) ?? 0;
    if (count >= this.max) return false;
    this.open.set(address, count + 1);
    return true;
  }

  release(address: string): void {
    if (this.max === 0) return;
    const count = (this.open.get(address) ?? 1) - 1;
    if (count <= 0) this.open.delete(address);
    else this.open.set(address, count);
  }
}
