/**
 * Every push provider of the process, by kind: what a device's platform is sent
 * through, and each app's providers with their health (console, readiness warnings).
 * The set holds providers; starting and stopping them stays with main.ts's services.
 */
import { ProviderRouter } from './provider-router.js';
import type { Provider, ProviderHealth, ProviderKind } from './provider.js';

/** In the order health() lists them. */
export const PROVIDER_KINDS: readonly ProviderKind[] = ['apns', 'fcm', 'web'];

export interface AppProviderHealth extends ProviderHealth {
  kind: ProviderKind;
}

export class ProviderSet {
  private readonly kinds = new Map<ProviderKind, Provider>();

  /** Several providers of one kind (APNs and its dry run) are routed per app, the first that serves it winning. */
  constructor(providers: readonly Provider[]) {
    for (const kind of PROVIDER_KINDS) {
      const ofKind = providers.filter((p) => p.kind === kind);
      const [only] = ofKind;
      if (only) this.kinds.set(kind, ofKind.length === 1 ? only : new ProviderRouter(ofKind));
    }
  }

  /** The provider of `kind`, whichever apps it serves; undefined when no app is configured for it. */
  byKind(kind: ProviderKind): Provider | undefined {
    return this.kinds.get(kind);
  }

  /** The provider of `kind` when it serves `app`: undefined when the app has no credentials for that platform. */
  forApp(app: string, kind: ProviderKind): Provider | undefined {
    const provider = this.kinds.get(kind);
    return provider?.serves(app) ? provider : undefined;
  }

  /** The kinds that serve `app`, each with its health right now. */
  health(app: string): AppProviderHealth[] {
    return PROVIDER_KINDS.flatMap((kind) => {
      const provider = this.forApp(app, kind);
      return provider ? [{ kind, ...provider.health(app) }] : [];
    });
  }

  /** Closes every provider (each at most once, whatever the routing). */
  async close(deadline: AbortSignal): Promise<void> {
    await Promise.all([...this.kinds.values()].map((p) => p.close(deadline)));
  }
}
