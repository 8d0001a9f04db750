import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { Adapter, FanoutMessage } from '../../src/gateway/adapter/adapter.js';
import { waitFor } from '../helpers/wait.js';

/** How a test file hands an Adapter implementation to the suite. */
export interface AdapterTarget {
  readonly name: string;
  /** `count` started adapters that act as the nodes of one cluster (one shared transport). */
  createNodes(count: number): Promise<Adapter[]>;
  /** Stops what createNodes made and frees the transport. Called after every test. */
  cleanup(): Promise<void>;
}

function recorder(adapter: Adapter): FanoutMessage[] {
  const seen: FanoutMessage[] = [];
  adapter.onMessage((message) => seen.push(message));
  return seen;
}

function event(app: string, index: number, extra: Partial<Extract<FanoutMessage, { type: 'event' }>> = {}): FanoutMessage {
  return { v: 1, type: 'event', app, channel: 'orders', frame: `{"event":"e","channel":"orders","data":"${index}"}`, ...extra };
}

/** Waits until `seen` holds the sentinel, so everything published before it by that node has arrived too. */
async function drained(seen: FanoutMessage[], sentinelApp: string): Promise<void> {
  await waitFor(() => seen.some((m) => m.app === sentinelApp), { what: 'the sentinel message', timeoutMs: 10_000 });
}

/** The contract every Adapter (local, Redis, …) must keep; run it once per implementation. */
export function adapterConformance(target: AdapterTarget): void {
  describe(`Adapter conformance: ${target.name}`, () => {
    afterEach(async () => {
      await target.cleanup();
    });

    it('delivers a message to the publishing node itself, once and unchanged', async () => {
      const [node] = await target.createNodes(1);
      assert.ok(node);
      const seen = recorder(node);
      const app = randomUUID();
      const message = event(app, 1, { exceptSocketId: '123.456' });
      await node.publish(message);
      const sentinel = randomUUID();
      await node.publish(event(sentinel, 0));
      await drained(seen, sentinel);
      assert.deepEqual(seen.filter((m) => m.app === app), [message]);
    });

    it('delivers to every node exactly once', async () => {
      const nodes = await target.createNodes(3);
      const seen = nodes.map(recorder);
      const app = randomUUID();
      const sentinel = randomUUID();
      await nodes[1]?.publish(event(app, 1));
      await nodes[1]?.publish(event(sentinel, 0));
      for (const record of seen) {
        await drained(record, sentinel);
        assert.equal(record.filter((m) => m.app === app).length, 1);
      }
    });

    it("keeps one publisher's order on every node", async () => {
      const nodes = await target.createNodes(2);
      const seen = nodes.map(recorder);
      const app = randomUUID();
      for (let i = 0; i < 200; i += 1) await nodes[0]?.publish(event(app, i));
      for (const record of seen) {
        await waitFor(() => record.filter((m) => m.app === app).length === 200, { what: '200 messages' });
        const order = record.filter((m) => m.app === app).map((m) => (m.type === 'event' ? m.frame : ''));
        assert.deepEqual(order, Array.from({ length: 200 }, (_, i) => (event(app, i) as { frame: string }).frame));
      }
    });

    it('keeps order per publisher when two nodes publish at once', async () => {
      const nodes = await target.createNodes(2);
      const seen = nodes.map(recorder);
      const app = randomUUID();
      await Promise.all(
        nodes.map(async (node, n) => {
          for (let i = 0; i < 100; i += 1) await node.publish(event(app, i, { channel: `from-${n}` }));
        }),
      );
      for (const record of seen) {
        await waitFor(() => record.filter((m) => m.app === app).length === 200, { what: '200 messages' });
        for (const channel of ['from-0', 'from-1']) {
          const frames = record.filter((m) => m.app === app && m.type === 'event' && m.channel === channel).map((m) => (m as { frame: string }).frame);
          assert.deepEqual(frames, Array.from({ length: 100 }, (_, i) => (event(app, i) as { frame: string }).frame));
        }
      }
    });

    it('carries frames byte for byte, including non-ASCII, escapes and large payloads', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const seen = recorder(b);
      const app = randomUUID();
      const frames = [
        JSON.stringify({ event: 'e', channel: 'c', data: JSON.stringify({ text: 'héllo — 👋 "quoted" \\ back\nslash' }) }),
        JSON.stringify({ event: 'e', channel: 'c', data: 'x'.repeat(100_000) }),
        '{"event":"e","channel":"c","data":"\\u0000\\ud83d\\ude00"}',
      ];
      for (const frame of frames) await a.publish({ v: 1, type: 'event', app, channel: 'c', frame });
      await waitFor(() => seen.filter((m) => m.app === app).length === frames.length, { what: 'three frames' });
      assert.deepEqual(
        seen.filter((m) => m.app === app).map((m) => (m as { frame: string }).frame),
        frames,
      );
    });

    it('carries terminate-user messages', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const seen = recorder(b);
      const app = randomUUID();
      const message: FanoutMessage = { v: 1, type: 'terminate-user', app, userId: 'user-42' };
      await a.publish(message);
      await waitFor(() => seen.some((m) => m.app === app), { what: 'terminate-user' });
      assert.deepEqual(seen.filter((m) => m.app === app), [message]);
    });

    it('isolates a throwing handler: the publisher and the next messages are unaffected', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const app = randomUUID();
      let calls = 0;
      b.onMessage((message) => {
        if (message.app !== app) return;
        calls += 1;
        if (calls === 1) throw new Error('handler bug');
      });
      const seen = recorder(b);
      await a.publish(event(app, 1));
      await a.publish(event(app, 2));
      await waitFor(() => seen.filter((m) => m.app === app).length === 2, { what: 'both messages after a throwing handler' });
      assert.equal(calls, 2);
    });

    it('stops delivering to a node once it is stopped, while the others keep receiving', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const seenA = recorder(a);
      const seenB = recorder(b);
      await b.stop(AbortSignal.timeout(5_000));
      const app = randomUUID();
      await a.publish(event(app, 1));
      const sentinel = randomUUID();
      await a.publish(event(sentinel, 0));
      await drained(seenA, sentinel);
      assert.equal(seenA.filter((m) => m.app === app).length, 1);
      assert.equal(seenB.filter((m) => m.app === app).length, 0);
    });
  });
}
