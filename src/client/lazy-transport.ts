import { HeraldClientError } from './client-error.js';
import type { Transport } from './transport.js';
import type { CancelResult, NotificationStatus, NotifyResult } from './types.js';

/**
 * A transport made on first use, so a module it needs (the Redis transport, which
 * loads BullMQ and ioredis) is imported only by clients that use it. A failed load
 * is reported as `unavailable` and tried again on the next call.
 */
export class LazyTransport implements Transport {
  private made: Promise<Transport> | undefined;

  constructor(private readonly make: () => Promise<Transport>) {}

  async notify(notification: Record<string, unknown>): Promise<NotifyResult> {
    return (await this.transport()).notify(notification);
  }

  async notifyMany(notifications: ReadonlyArray<Record<string, unknown>>): Promise<NotifyResult[]> {
    return (await this.transport()).notifyMany(notifications);
  }

  async status(id: string): Promise<NotificationStatus | undefined> {
    return (await this.transport()).status(id);
  }

  async cancel(id: string): Promise<CancelResult> {
    return (await this.transport()).cancel(id);
  }

  async close(): Promise<void> {
    // Never used: nothing was opened.
    if (this.made === undefined) return;
    const transport = await this.made.catch(() => undefined);
    await transport?.close();
  }

  private transport(): Promise<Transport> {
    this.made ??= this.make().catch((err: unknown) => {
      this.made = undefined;
      throw err instanceof HeraldClientError ? err : new HeraldClientError('unavailable', `cannot load the Redis transport: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    return this.made;
  }
}
