import { MemoryDeviceRegistry } from '../../src/devices/memory-device-registry.js';
import { deviceRegistryConformance } from './device-registry.js';

// One process, one store: every handle is the same instance.
deviceRegistryConformance({
  name: 'MemoryDeviceRegistry',
  async create(count) {
    const registry = new MemoryDeviceRegistry();
    await registry.start();
    return Array.from({ length: count }, () => registry);
  },
  async cleanup() {},
});
