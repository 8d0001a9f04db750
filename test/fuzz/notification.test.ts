import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { refusalOf } from '../../src/gateway/publish-validation.js';
import { checkForApp } from '../../src/notifications/check-for-app.js';
import { parseNotification } from '../../src/notifications/contract/parse-notification.js';
import type { NotificationCheck } from '../../src/notifications/contract/parse-notification.js';
import { fuzzSeed } from './fuzz-seed.js';
import { mutatedNotification, parsePath } from './notification-arbitrary.js';
import type { PathPart } from './notification-arbitrary.js';

// Notification JSON is the boundary every producer crosses (HTTP body, BullMQ job data,
// CLI). The validator must answer every input with a value — never throw — and point at
// the exact place of the problem, so a producer can fix its request.

const RUNS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'herald-fuzz-notification-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const app = (() => {
  const file = join(dir, 'herald.yaml');
  const apns = { topic: 'com.example.shop', token: { key: '/nonexistent/AuthKey.p8', keyId: 'ABC123DEFG', teamId: 'TEAM123456' } };
  writeFileSync(file, stringify({ apps: [{ id: 'shop', key: 'shop-key', secret: 'shop-secret-123', apns, limits: { maxEventPayloadKb: 1 } }] }));
  const loaded = loadConfig({ file, env: {} }).apps[0];
  assert.ok(loaded);
  return loaded;
})();

function parse(input: unknown): NotificationCheck {
  try {
    return parseNotification(input);
  } catch (err) {
    assert.fail(`parseNotification threw ${String(err)} for ${JSON.stringify(input)?.slice(0, 300)}`);
  }
}

/** The value at `path`, and whether every step of the way exists. */
function resolve(root: unknown, path: readonly PathPart[]): { exists: boolean; parentExists: boolean } {
  let node = root;
  for (const [index, part] of path.entries()) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return { exists: false, parentExists: index === path.length - 1 };
    node = (node as Record<PathPart, unknown>)[part];
  }
  return { exists: true, parentExists: true };
}

const startsWith = (path: readonly PathPart[], prefix: readonly PathPart[]) => prefix.every((part, i) => path[i] === part);

describe('fuzz: notification JSON', () => {
  it(`${RUNS} valid notifications with one change each: a value, never a throw; errors point at the change`, () => {
    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    fc.assert(
      fc.property(mutatedNotification(app.id), ({ input, at, kind }) => {
        const result = parse(input);
        if (result.ok) {
          count('valid');
          const { notification } = result;
          assert.ok(notification.id.length >= 1 && notification.id.length <= 128);
          for (const token of notification.apns?.tokens ?? []) assert.match(token, /^([0-9a-f]{2})+$/, 'tokens normalised to lower-case even-length hex');
          assert.equal(new Set(notification.apns?.tokens).size, notification.apns?.tokens.length ?? 0, 'no duplicate tokens');
          let problem;
          try {
            problem = checkForApp(notification, app, refusalOf);
          } catch (err) {
            assert.fail(`checkForApp threw ${String(err)} for ${JSON.stringify(input).slice(0, 300)}`);
          }
          if (problem) {
            count('refused for the app');
            assert.ok(problem.error.length > 0);
            assert.ok(resolve(notification, parsePath(problem.path)).parentExists, `app check path '${problem.path}' is in the notification`);
          }
          return;
        }
        count(`invalid (${kind})`);
        assert.ok(result.error.length > 0, 'an error message');
        const reported = parsePath(result.path);
        const where = `error '${result.error}' at '${result.path}' for a ${kind} at ${JSON.stringify(at)}: ${JSON.stringify(input).slice(0, 300)}`;
        assert.ok(startsWith(at, reported) || startsWith(reported, at), `the path leads to the change: ${where}`);
        const found = resolve(input, reported);
        assert.ok(found.exists || found.parentExists, `the path exists in the input, or names a missing field of an object that does: ${where}`);
      }),
      { numRuns: RUNS, seed: fuzzSeed, endOnFailure: true, includeErrorInReport: true },
    );
    console.log(`mutated notifications: ${RUNS} (seed ${fuzzSeed}) ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.ok((outcomes.get('valid') ?? 0) > 0 && [...outcomes.keys()].some((k) => k.startsWith('invalid')), 'both outcomes reached');
  });

  it(`${RUNS} arbitrary JSON values and objects: refused with an error and a path, never a throw`, () => {
    const anything = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.object({ maxDepth: 3, withNullPrototype: true }),
      fc.dictionary(fc.constantFrom('v', 'app', 'id', 'apns', 'realtime', 'sendAt', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 3 })),
      fc.constantFrom(undefined, Number.NaN, Infinity, -0, Symbol.iterator, () => 1, new Date(0), new Map(), Object.create(null) as unknown),
    );
    let refused = 0;
    fc.assert(
      fc.property(anything, (input) => {
        const result = parse(input);
        if (result.ok) return;
        refused++;
        assert.ok(result.error.length > 0 && typeof result.path === 'string');
        assert.ok(result.path === '' || resolve(input, parsePath(result.path)).parentExists, `path '${result.path}' for ${String(JSON.stringify(input)).slice(0, 200)}`);
      }),
      { numRuns: RUNS, seed: fuzzSeed + 1, endOnFailure: true, includeErrorInReport: true },
    );
    console.log(`arbitrary values: ${RUNS}, refused ${refused}`);
    assert.ok(refused > RUNS * 0.9);
  });

  it('the biggest allowed notification (100,000 tokens) parses, and one more token is refused at apns.tokens', () => {
    const tokens = Array.from({ length: 100_000 }, (_, i) => i.toString(16).padStart(64, '0'));
    const ok = parse({ v: 1, app: app.id, apns: { tokens, payload: { aps: { alert: 'x' } } } });
    assert.ok(ok.ok);
    const over = parse({ v: 1, app: app.id, apns: { tokens: [...tokens, 'ab'], payload: { aps: { alert: 'x' } } } });
    assert.ok(!over.ok);
    assert.equal(over.path, 'apns.tokens');
  });
});
