import { MemoryDeadLetterStore } from '../../src/webhooks/memory-dead-letter-store.js';
import { MemoryQueueDriver } from '../../src/queue/memory-queue-driver.js';
import { webhookSuite } from './webhooks-suite.js';

webhookSuite({
  name: 'memory',
  queue: (settings) => new MemoryQueueDriver(settings),
  deadLetters: () => new MemoryDeadLetterStore(),
});
