import type { Logger } from '../../../log/logger.js';
import type { StateChange } from '../channel-state.js';
import type { RedisChannelStore } from './channel-records.js';
import type { NodeLock } from './node-lock.js';
import { undoNodeRecords } from './node-undo.js';
import { forgetReapedScript, markReapingScript, silentNodesScript } from './state-scripts.js';

export interface NodeReaperOptions {
  store: RedisChannelStore;
  lock: NodeLock;
  nodeId: string;
  /** A node silent for longer than this (by Redis' clock) is dead. */
  timeoutMs: number;
  intervalMs: number;
  log: Logger;
  /**
   * False while this node itself has not been connected for a whole timeout: right
   * after Redis comes back every node looks silent, and the live ones need one
   * timeout to beat again before anyone may be judged.
   */
  mayReap: () => boolean;
  onChange: (change: StateChange) => void;
}

/**
 * Removes what dead nodes left behind. Every node looks for silent nodes each
 * interval; for each, the one that wins its lock marks it as being reaped, undoes
 * its records (announcing each membership that ends, once for the whole cluster),
 * then forgets it — unless it came back meanwhile, in which case it re-syncs.
 */
export class NodeReaper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly o: NodeReaperOptions) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /** One pass: reaps every silent node whose lock this node wins. Returns the nodes it reaped. */
  async sweep(): Promise<string[]> {
    if (!this.o.mayReap()) return [];
    const { client, keys } = this.o.store;
    const silent = (await silentNodesScript.run(client, [keys.nodes], [this.o.timeoutMs])) as string[];
    const reaped: string[] = [];
    for (const nodeId of silent) {
      if (nodeId === this.o.nodeId || !this.running) continue;
      if (await this.reap(nodeId)) reaped.push(nodeId);
    }
    return reaped;
  }

  private async reap(nodeId: string): Promise<boolean> {
    const { client, keys } = this.o.store;
    if (!(await this.o.lock.tryAcquire(nodeId))) return false;
    try {
      if ((await markReapingScript.run(client, [keys.nodes], [nodeId, this.o.timeoutMs])) !== 1) return false;
      const started = Date.now();
      const undone = await undoNodeRecords({ store: this.o.store, lock: this.o.lock, nodeId, onChange: this.o.onChange });
      if ((await forgetReapedScript.run(client, [keys.nodes], [nodeId])) === 1) await client.hdel(keys.nodesSynced, nodeId);
      this.o.log.warn({ deadNode: nodeId, records: undone, ms: Date.now() - started }, 'removed the state of a silent node');
      return true;
    } finally {
      await this.o.lock.release(nodeId).catch(() => {});
    }
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.o.log.warn({ err }, 'dead-node sweep failed'))
        .finally(() => {
          this.sweeping = undefined;
          this.schedule();
        });
    }, this.o.intervalMs).unref();
  }
}
