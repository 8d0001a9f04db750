import { MemoryChannelState } from '../../src/gateway/state/memory-channel-state.js';
import { channelStateConformance } from './channel-state-suite.js';

// One process, one store: every "node" is the same instance.
channelStateConformance({
  name: 'MemoryChannelState',
  async createNodes(count) {
    const state = new MemoryChannelState();
    await state.start();
    return Array.from({ length: count }, () => state);
  },
  async cleanup() {},
});
