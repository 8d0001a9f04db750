import { LocalAdapter, LocalHub } from '../../src/gateway/adapter/local-adapter.js';
import type { Adapter } from '../../src/gateway/adapter/adapter.js';
import { adapterConformance } from './adapter-suite.js';

let made: Adapter[] = [];

adapterConformance({
  name: 'LocalAdapter (nodes on one LocalHub)',
  async createNodes(count) {
    const hub = new LocalHub();
    made = Array.from({ length: count }, () => new LocalAdapter({ hub }));
    for (const adapter of made) await adapter.start();
    return made;
  },
  async cleanup() {
    for (const adapter of made) await adapter.stop(AbortSignal.timeout(1_000));
    made = [];
  },
});
