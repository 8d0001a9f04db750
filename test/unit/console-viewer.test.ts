import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsoleEvent } from '../../src/console/console-event.js';
import { Viewer } from '../../src/console/viewer.js';
import type { ViewerSink } from '../../src/console/viewer.js';
import { viewerCounters } from '../../src/console/viewer-counters.js';
import { createMetrics } from '../../src/metrics/metrics.js';

// "Never a cost to the gateway": a viewer is sampled past its events/s cap and dropped
// when its socket backs up; nothing here ever waits for the browser.

/** A sink whose socket backlog the test sets; it records the SSE frames written. */
class FakeSink implements ViewerSink {
  writableLength = 0;
  ended = false;
  readonly frames: Array<{ kind: string; data: unknown }> = [];
  write(chunk: string): boolean {
    const kind = /^event: (\S+)/.exec(chunk)?.[1];
    const data = /\ndata: (.*)\n/.exec(chunk)?.[1];
    if (kind && data) this.frames.push({ kind, data: JSON.parse(data) as unknown });
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

async function total(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `${name} is registered`);
  return metric.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

const event = (n: number): ConsoleEvent => ({ at: n, node: 'n1', app: 'app-id', type: 'publish', detail: { n } });

describe('console viewer', () => {
  it('skips and counts events over maxEventsPerSecond, then tells the viewer how many', async () => {
    const metrics = createMetrics({ defaults: false });
    const sink = new FakeSink();
    let now = 10_000;
    const viewer = new Viewer('app-id', sink, { maxEventsPerSecond: 3, maxBufferedBytes: 1 << 20 }, viewerCounters(metrics), () => now);
    for (let i = 0; i < 10; i += 1) assert.equal(viewer.offer(event(i)), true, 'a sampled viewer stays attached');
    assert.deepEqual(sink.frames.map((f) => f.kind), ['event', 'event', 'event']);
    assert.equal(await total(metrics, 'herald_console_events_total', { status: 'sampled' }), 7);
    assert.equal(await total(metrics, 'herald_console_events_total', { status: 'sent' }), 3);

    now += 1_000;
    viewer.offer(event(10));
    assert.deepEqual(sink.frames.slice(3), [{ kind: 'dropped', data: { count: 7 } }, { kind: 'event', data: event(10) }]);
  });

  it('tells the viewer how many were skipped on the next ping when no further event comes', () => {
    const sink = new FakeSink();
    let now = 10_000;
    const viewer = new Viewer('app-id', sink, { maxEventsPerSecond: 1, maxBufferedBytes: 1 << 20 }, viewerCounters(createMetrics({ defaults: false })), () => now);
    for (let i = 0; i < 4; i += 1) viewer.offer(event(i));
    now += 15_000;
    assert.equal(viewer.ping(), true);
    assert.deepEqual(sink.frames.slice(1), [{ kind: 'dropped', data: { count: 3 } }]);
  });

  it('disconnects a slow viewer whose socket holds more than maxBufferedBytes, counted as slow', async () => {
    const metrics = createMetrics({ defaults: false });
    const sink = new FakeSink();
    const viewer = new Viewer('app-id', sink, { maxEventsPerSecond: 1_000, maxBufferedBytes: 4_096 }, viewerCounters(metrics));
    assert.equal(viewer.offer(event(1)), true);
    sink.writableLength = 4_097;
    assert.equal(viewer.offer(event(2)), false, 'the feed is told to forget the viewer');
    assert.equal(sink.ended, true, 'the stream is closed, not waited on');
    assert.equal(viewer.closed, true);
    assert.equal(sink.frames.length, 1, 'nothing more is queued behind the backlog');
    assert.equal(await total(metrics, 'herald_console_viewers_dropped_total', { reason: 'slow' }), 1);
    assert.equal(viewer.offer(event(3)), false);
    assert.equal(viewer.ping(), false);
    assert.equal(await total(metrics, 'herald_console_viewers_dropped_total', { reason: 'slow' }), 1, 'dropped once');
  });

  it('keeps a viewer whose backlog is exactly maxBufferedBytes', () => {
    const sink = new FakeSink();
    sink.writableLength = 4_096;
    const viewer = new Viewer('app-id', sink, { maxEventsPerSecond: 1_000, maxBufferedBytes: 4_096 }, viewerCounters(createMetrics({ defaults: false })));
    assert.equal(viewer.offer(event(1)), true);
    assert.equal(sink.ended, false);
  });
});
