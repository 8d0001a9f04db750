import type { RedisClient } from '../../../redis/redis-client.js';
import type { GatewayKeys } from './keys.js';
import { extendLockScript, releaseLockScript } from './state-scripts.js';

/** Long enough for a batch of undo work; renewed after every batch. */
export const NODE_LOCK_TTL_MS = 30_000;

/**
 * The right to clean up after one node (SET NX PX): held by the one survivor that
 * reaps a silent node, or by the node itself while it re-syncs, so the two never
 * undo and redo the same records at once.
 */
export class NodeLock {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: GatewayKeys,
    /** Who holds it: the acting node's id. */
    private readonly owner: string,
  ) {}

  async tryAcquire(nodeId: string): Promise<boolean> {
    return (await this.client.set(this.keys.nodeLock(nodeId), this.owner, 'PX', NODE_LOCK_TTL_MS, 'NX')) === 'OK';
  }

  /** False when the lock expired and someone else may have taken over: stop working. */
  async extend(nodeId: string): Promise<boolean> {
    return (await extendLockScript.run(this.client, [this.keys.nodeLock(nodeId)], [this.owner, NODE_LOCK_TTL_MS])) === 1;
  }

  async release(nodeId: string): Promise<void> {
    await releaseLockScript.run(this.client, [this.keys.nodeLock(nodeId)], [this.owner]);
  }
}
