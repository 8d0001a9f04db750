import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Names this process among the nodes of a cluster (logs, heartbeats, ownership of
 * sockets in shared state). New on every start, so a restarted process is a new node.
 */
export function createNodeId(): string {
  const host = hostname().replace(/[^A-Za-z0-9-]/g, '').slice(0, 32) || 'node';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
