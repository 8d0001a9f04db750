/**
 * What a bench that drives Herald against the APNs fixture worker needs on its side:
 * the bench app's `apns` settings pointing at the fixture, and waiting until the
 * fixture has answered everything sent.
 */
import type { FixtureCounters, FixtureInfo } from './apns-fixture-worker.js';
import type { IpcChild } from './ipc.js';
import { BENCH_APP } from './targets.js';

/** The bench app with APNs certificate auth against the fixture, one connection of `maxConcurrentStreams`. */
export function benchApnsApp(info: FixtureInfo, maxConcurrentStreams: number): Record<string, unknown> {
  return {
    ...BENCH_APP,
    apns: {
      topic: info.topic,
      cert: info.certPath,
      key: info.keyPath,
      endpoint: { host: '127.0.0.1', port: info.port, ca: info.caPath },
      maxConcurrentStreams,
      connections: 1,
    },
  };
}

/** Until `expected` requests were answered, or nothing new was answered for `idleMs`. */
export async function waitForFixture(fixture: IpcChild, expected: number, options: { idleMs: number; timeoutMs: number }): Promise<FixtureCounters> {
  const until = Date.now() + options.timeoutMs;
  let last = await fixture.call<FixtureCounters>('counters');
  let progressAt = Date.now();
  while (last.accepted + last.refused < expected && Date.now() < until && Date.now() - progressAt < options.idleMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await fixture.call<FixtureCounters>('counters');
    if (now.accepted + now.refused > last.accepted + last.refused) progressAt = Date.now();
    last = now;
  }
  return last;
}
