import type { Adapter, FanoutHandler, FanoutMessage } from './adapter.js';

/**
 * An in-process bus several LocalAdapters can share, each acting as one node. A
 * production process has one adapter on its own hub; tests use a shared hub to
 * exercise the cluster contract without a network.
 */
export class LocalHub {
  private readonly nodes = new Set<LocalAdapter>();

  join(node: LocalAdapter): void {
    this.nodes.add(node);
  }

  leave(node: LocalAdapter): void {
    this.nodes.delete(node);
  }

  broadcast(message: FanoutMessage): void {
    for (const node of this.nodes) node.deliver(message);
  }
}

export interface LocalAdapterOptions {
  hub?: LocalHub;
  /** Where a throwing handler is reported. */
  onHandlerError?: (err: unknown) => void;
}

/** Fanout inside one process: publish is a direct, synchronous call of every node's handlers. */
export class LocalAdapter implements Adapter {
  readonly name = 'adapter';
  private readonly hub: LocalHub;
  private readonly handlers: FanoutHandler[] = [];
  private readonly onHandlerError: (err: unknown) => void;
  private running = false;

  constructor(options: LocalAdapterOptions = {}) {
    this.hub = options.hub ?? new LocalHub();
    this.onHandlerError = options.onHandlerError ?? (() => {});
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.hub.join(this);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.hub.leave(this);
  }

  /** Delivered to every node's handlers before the promise resolves. */
  async publish(message: FanoutMessage): Promise<void> {
    if (!this.running) throw new Error('adapter is not running');
    this.hub.broadcast(message);
  }

  onMessage(handler: FanoutHandler): void {
    this.handlers.push(handler);
  }

  /** Called by the hub. */
  deliver(message: FanoutMessage): void {
    for (const handler of this.handlers) {
      try {
        handler(message);
      } catch (err) {
        this.onHandlerError(err);
      }
    }
  }
}
