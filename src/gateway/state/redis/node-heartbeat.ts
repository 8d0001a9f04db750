import type { Logger } from '../../../log/logger.js';
import type { RedisClient } from '../../../redis/redis-client.js';
import type { GatewayKeys } from './keys.js';
import { heartbeatScript } from './state-scripts.js';

export interface NodeHeartbeatOptions {
  client: RedisClient;
  keys: GatewayKeys;
  nodeId: string;
  intervalMs: number;
  log: Logger;
  /** The node was not listed as alive: Redis lost its data, or another node took it for dead. */
  onForgotten: () => void;
}

/**
 * Tells the cluster this node is alive: its entry in the node set is refreshed at
 * Redis' clock every interval. A beat that fails (Redis away) is simply missed;
 * the reapers allow a whole timeout of them.
 */
export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private registered = false;

  constructor(private readonly o: NodeHeartbeatOptions) {}

  /** Registers the node (first beat, awaited) and keeps beating. */
  async start(): Promise<void> {
    this.running = true;
    await this.beat();
    this.schedule();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Removes the node from the set (a clean shutdown, once its records are undone). */
  async unregister(): Promise<void> {
    await this.o.client.zrem(this.o.keys.nodes, this.o.nodeId);
  }

  async beat(): Promise<void> {
    const listed = await heartbeatScript.run(this.o.client, [this.o.keys.nodes], [this.o.nodeId]);
    if (listed !== 1 && this.registered) {
      this.o.log.warn({ node: this.o.nodeId }, 'this node was not listed as alive; re-syncing its state');
      this.o.onForgotten();
    }
    this.registered = true;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.beat()
        .catch((err: unknown) => this.o.log.debug({ err }, 'heartbeat missed'))
        .finally(() => this.schedule());
    }, this.o.intervalMs).unref();
  }
}
