import type { Provider, ProviderHealth, ProviderKind, PushBatch, PushResult } from '../providers/provider.js';

/** A provider whose every result is also handed to `observe` with the provider's kind (the console's per-token outcomes). */
export function observedProvider(provider: Provider, observe: (kind: ProviderKind, batch: PushBatch, result: PushResult) => void): Provider {
  return {
    kind: provider.kind,
    serves: (app: string): boolean => provider.serves(app),
    health: (app: string): ProviderHealth => provider.health(app),
    close: (deadline: AbortSignal): Promise<void> => provider.close(deadline),
    async *send(batch: PushBatch, signal: AbortSignal): AsyncIterable<PushResult> {
      for await (const result of provider.send(batch, signal)) {
        observe(provider.kind, batch, result);
        yield result;
      }
    },
  };
}
