import type { ChannelCache } from '../../src/gateway/state/channel-cache.js';
import { MemoryChannelCache } from '../../src/gateway/state/memory-channel-cache.js';
import { channelCacheConformance } from './channel-state-cache-suite.js';

let made: ChannelCache | undefined;

// One process, one store: every "node" is the same instance.
channelCacheConformance({
  name: 'MemoryChannelCache',
  async createNodes(count) {
    made = new MemoryChannelCache();
    await made.start();
    const cache = made;
    return Array.from({ length: count }, () => cache);
  },
  async cleanup() {
    await made?.stop(AbortSignal.timeout(1_000));
    made = undefined;
  },
});
