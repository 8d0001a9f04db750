import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DryRunProvider } from '../../src/providers/dry-run-provider.js';
import type { Provider, ProviderHealth, ProviderKind, PushResult } from '../../src/providers/provider.js';
import { ProviderRouter } from '../../src/providers/provider-router.js';
import { ProviderSet } from '../../src/providers/provider-set.js';

/** A provider of `kind` serving `apps`, every token answering `reason`; counts its close() calls. */
function fake(kind: ProviderKind, apps: string[], health: ProviderHealth = { ok: true }) {
  let closed = 0;
  const provider: Provider & { closed(): number } = {
    kind,
    serves: (app) => apps.includes(app),
    health: () => health,
    async *send(batch) {
      for (const [index, token] of batch.tokens.entries()) yield { token, index, outcome: { type: 'rejected', reason: `${kind}:${batch.app}`, invalidToken: false } } satisfies PushResult;
    },
    close: async () => {
      closed += 1;
    },
    closed: () => closed,
  };
  return provider;
}

async function reasons(provider: Provider | undefined, app: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of provider?.send({ app, notificationId: 'n', tokens: ['t'], payload: {} }, new AbortController().signal) ?? []) out.push(r.outcome.type === 'delivered' ? 'delivered' : r.outcome.reason);
  return out;
}

describe('ProviderSet', () => {
  it('gives the provider of each kind, and forApp only when it serves the app', async () => {
    const [apns, fcm, web] = [fake('apns', ['shop']), fake('fcm', ['shop', 'android']), fake('web', ['browser'])];
    const set = new ProviderSet([apns, fcm, web]);
    assert.equal(set.byKind('apns'), apns);
    assert.equal(set.byKind('fcm'), fcm);
    assert.equal(set.byKind('web'), web);
    assert.equal(set.forApp('android', 'fcm'), fcm);
    assert.equal(set.forApp('android', 'apns'), undefined);
    assert.equal(set.forApp('android', 'web'), undefined);
    assert.deepEqual(await reasons(set.forApp('shop', 'fcm'), 'shop'), ['fcm:shop']);
  });

  it('has no provider of a kind no app configures', () => {
    const set = new ProviderSet([fake('apns', ['shop'])]);
    assert.equal(set.byKind('fcm'), undefined);
    assert.equal(set.forApp('shop', 'web'), undefined);
    assert.deepEqual(set.health('shop'), [{ kind: 'apns', ok: true }]);
  });

  it('routes several providers of one kind per app (APNs and its dry run)', async () => {
    const set = new ProviderSet([fake('apns', ['shop']), new DryRunProvider(['demo']), fake('fcm', ['demo'])]);
    const apns = set.byKind('apns');
    assert.ok(apns instanceof ProviderRouter);
    assert.equal(apns.kind, 'apns');
    assert.deepEqual(await reasons(apns, 'shop'), ['apns:shop']);
    assert.deepEqual(await reasons(apns, 'demo'), ['delivered']);
    assert.deepEqual(await reasons(apns, 'nobody'), ['NoProvider']);
  });

  it('lists each app’s providers with their health, in the order apns, fcm, web', () => {
    const set = new ProviderSet([fake('web', ['shop']), fake('fcm', ['shop'], { ok: false, detail: 'credentials refused by FCM: InvalidGrant' }), fake('apns', ['shop', 'ios'])]);
    assert.deepEqual(set.health('shop'), [
      { kind: 'apns', ok: true },
      { kind: 'fcm', ok: false, detail: 'credentials refused by FCM: InvalidGrant' },
      { kind: 'web', ok: true },
    ]);
    assert.deepEqual(set.health('ios'), [{ kind: 'apns', ok: true }]);
    assert.deepEqual(set.health('unknown'), []);
  });

  it('closes every provider once', async () => {
    const providers = [fake('apns', ['a']), fake('apns', ['b']), fake('fcm', ['a']), fake('web', ['a'])];
    await new ProviderSet(providers).close(AbortSignal.timeout(1_000));
    assert.deepEqual(providers.map((p) => p.closed()), [1, 1, 1, 1]);
  });

  it('a router refuses providers of mixed kinds', () => {
    assert.throws(() => new ProviderRouter([fake('apns', []), fake('fcm', [])]), /one kind/);
    assert.throws(() => new ProviderRouter([]), /one kind/);
  });
});
