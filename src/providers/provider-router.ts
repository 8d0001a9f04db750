import { HeraldError } from '../errors.js';
import type { Provider, ProviderHealth, ProviderKind, PushBatch, PushResult } from './provider.js';

/** Several providers of one kind behind one (APNs and its dry run): each app goes to the first that serves it. */
export class ProviderRouter implements Provider {
  readonly kind: ProviderKind;

  constructor(private readonly providers: readonly Provider[]) {
    const kinds = new Set(providers.map((p) => p.kind));
    const [kind] = kinds;
    if (kind === undefined || kinds.size > 1) throw new HeraldError('HERALD_INTERNAL', `a provider router needs providers of one kind, got [${[...kinds].join(', ')}]`);
    this.kind = kind;
  }

  serves(app: string): boolean {
    return this.providers.some((p) => p.serves(app));
  }

  health(app: string): ProviderHealth {
    return this.pick(app)?.health(app) ?? { ok: false, detail: 'no provider for this app' };
  }

  send(batch: PushBatch, signal: AbortSignal): AsyncIterable<PushResult> {
    const provider = this.pick(batch.app);
    if (provider) return provider.send(batch, signal);
    return (async function* () {
      for (const [index, token] of batch.tokens.entries()) {
        yield { token, index, outcome: { type: 'rejected', reason: 'NoProvider', invalidToken: false } } satisfies PushResult;
      }
    })();
  }

  async close(deadline: AbortSignal): Promise<void> {
    await Promise.all(this.providers.map((p) => p.close(deadline)));
  }

  private pick(app: string): Provider | undefined {
    return this.providers.find((p) => p.serves(app));
  }
}
