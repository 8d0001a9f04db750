import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../src/lib/backoff.js';

// Statements in docs/ that once disagreed with the code they describe.

const doc = (name: string) => readFileSync(`docs/${name}`, 'utf8');
const row = (text: string, metric: string) => text.split('\n').find((line) => line.startsWith(`| \`${metric}\` |`)) ?? '';

describe('docs agree with the code', () => {
  it('docs/apns.md: backoff is equal jitter (between half and all of the ceiling), as backoffDelay computes', () => {
    const policy = { baseMs: 250, maxMs: 30_000 };
    assert.equal(backoffDelay(3, policy, () => 0), 500);
    assert.equal(backoffDelay(3, policy, () => 1), 1_000);
    assert.match(doc('apns.md'), /equal jitter/);
    assert.doesNotMatch(doc('apns.md'), /full jitter/);
  });

  it('docs/apns.md: the inline-wait limit it states is the one the daemon passes', () => {
    const ms = Number(/retry: \{ maxInlineWaitMs: ([\d_]+) \}/.exec(readFileSync('src/main.ts', 'utf8'))?.[1]?.replace(/_/g, ''));
    assert.equal(ms, 1_000);
    assert.match(doc('apns.md'), new RegExp(`would\\s+exceed ${ms / 1000} s`));
  });

  it('docs/metrics.md: every reason a replaced APNs session is counted under is listed', () => {
    const type = /export type RetireReason = ([^;]+);/.exec(readFileSync('src/providers/shared/http2-session.ts', 'utf8'))?.[1] ?? '';
    // 'stopping' is Herald's own shutdown, which the pool does not count as a replacement.
    const reasons = [...type.matchAll(/'(\w+)'/g)].map((m) => m[1]!).filter((reason) => reason !== 'stopping');
    assert.ok(reasons.length >= 6, type);
    const line = row(doc('metrics.md'), 'herald_apns_sessions_replaced_total');
    for (const reason of reasons) assert.match(line, new RegExp(`\`${reason}\``), `${reason} is explained`);
  });

  it('docs/metrics.md: the event-loop percentiles cover the last scrape interval, not the process lifetime', () => {
    const line = row(doc('metrics.md'), 'nodejs_eventloop_lag_p99_seconds');
    assert.match(line, /last scrape interval/);
    assert.doesNotMatch(line, /since process start/i);
  });

  it('docs/ stand on their own: no page cites a file outside this repository', () => {
    for (const name of readdirSync('docs').filter((file) => file.endsWith('.md'))) {
      assert.doesNotMatch(doc(name), /shared\/spec|\.\.\/shared|\bthe contract\b/i, `docs/${name}`);
    }
  });
});
