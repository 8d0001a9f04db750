import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../../redis/redis-client.js';
import type { GatewayKeys } from './keys.js';
import { generationScript, liveNodesScript } from './state-scripts.js';

/**
 * Tells a node whether Redis still holds the data it last wrote. Redis carries a
 * random generation id, created by whichever node first finds it missing; a node
 * that finds another id than the one it synced under knows Redis lost its data (a
 * restart without persistence, a FLUSHALL, a failover to an empty replica) rather
 * than the node being taken for dead. Each node also publishes the generation it
 * has written its holdings back to, so one can tell when every live node has.
 */
export class StateGeneration {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: GatewayKeys,
    private readonly nodeId: string,
  ) {}

  /** The generation of Redis' current data (a new one if it has none). */
  async current(): Promise<string> {
    const reply = await generationScript.run(this.client, [this.keys.generation], [randomBytes(8).toString('hex')]);
    if (typeof reply !== 'string' || reply === '') throw new Error('generation script returned no id');
    return reply;
  }

  async markSynced(generation: string): Promise<void> {
    await this.client.hset(this.keys.nodesSynced, this.nodeId, generation);
  }

  async forget(nodeId: string): Promise<void> {
    await this.client.hdel(this.keys.nodesSynced, nodeId);
  }

  /** Nodes heard from within `timeoutMs` that have not yet written their holdings back to `generation`. */
  async unsyncedLiveNodes(generation: string, timeoutMs: number): Promise<string[]> {
    const live = (await liveNodesScript.run(this.client, [this.keys.nodes], [timeoutMs])) as string[];
    if (live.length === 0) return [];
    const synced = await this.client.hmget(this.keys.nodesSynced, ...live);
    return live.filter((_, i) => synced[i] !== generation);
  }
}
