import { randomUUID } from 'node:crypto';
import type { Provider, ProviderHealth, PushBatch, PushResult } from './provider.js';

/**
 * `apns: { dryRun: true }`: every token answers delivered with a made-up apns-id and
 * nothing leaves the process, so the whole path (queue, status, console) can be
 * watched on a machine without Apple credentials.
 */
export class DryRunProvider implements Provider {
  readonly kind = 'apns' as const;
  private readonly apps: ReadonlySet<string>;

  constructor(apps: Iterable<string>) {
    this.apps = new Set(apps);
  }

  serves(app: string): boolean {
    return this.apps.has(app);
  }

  health(): ProviderHealth {
    return { ok: true, detail: 'dry run: nothing is sent to APNs' };
  }

  async *send(batch: PushBatch, signal: AbortSignal): AsyncIterable<PushResult> {
    for (const [index, token] of batch.tokens.entries()) {
      yield signal.aborted
        ? { token, index, outcome: { type: 'retry', reason: 'Aborted' } }
        : { token, index, outcome: { type: 'delivered', apnsId: randomUUID() } };
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
