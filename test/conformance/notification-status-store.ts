import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotificationPlan, StatusStore, TokenCheckpoint } from '../../src/notifications/status/status-store.js';
import { waitFor } from '../helpers/wait.js';

export type StatusStoreFactory = (retentionSeconds: number) => Promise<StatusStore>;

let counter = 0;
function plan(overrides: Partial<NotificationPlan> = {}): NotificationPlan {
  counter += 1;
  return { id: `n-${process.pid}-${counter}-${Date.now()}`, app: 'app-a', createdAt: 1_700_000_000_000, tokens: 4, chunks: 2, ...overrides };
}

/** One suite, run for every StatusStore implementation. */
export function statusStoreConformance(label: string, factory: StatusStoreFactory): void {
  describe(`StatusStore conformance: ${label}`, () => {
    it('creates a record once per app and id, and knows it', async () => {
      const store = await factory(60);
      const p = plan();
      assert.deepEqual(await store.create(p), { created: true });
      assert.deepEqual(await store.create(p), { created: false, state: 'queued', owner: '' });
      const status = await store.get(p);
      assert.deepEqual(status, {
        id: p.id,
        app: 'app-a',
        state: 'queued',
        createdAt: p.createdAt,
        attempts: 1,
        apns: { total: 4, sent: 0, failed: 0, expired: 0, pending: 4, invalidTokens: [], failures: {} },
        realtime: { channels: 0 },
      });
      assert.equal(await store.get({ app: 'app-a', id: 'never-seen' }), undefined);
      assert.equal(await store.known(p), true);
      assert.equal(await store.known({ app: 'app-a', id: 'never-seen' }), false);
    });

    it("keeps ids per app: another app's same id is its own notification (it used to be refused as taken)", async () => {
      const store = await factory(60);
      const a = plan({ tokens: 2, chunks: 1 });
      const b = { ...a, app: 'app-b', tokens: 0, chunks: 0 };
      await store.create(a);
      assert.equal(await store.known(b), false);
      assert.deepEqual(await store.create(b), { created: true });
      await store.record(a, [{ index: 0, kind: 'delivered' }]);
      assert.deepEqual(await store.completeChunk(b, undefined, 7), { finished: true, app: 'app-b', state: 'completed', sent: 0, failed: 0, expired: 0 });
      assert.deepEqual(await store.fail(b, 'late', 8), { finished: false });
      const [statusA, statusB] = [await store.get(a), await store.get(b)];
      assert.deepEqual([statusA?.app, statusA?.state, statusA?.apns.sent, statusA?.apns.total], ['app-a', 'queued', 1, 2]);
      assert.deepEqual([statusB?.app, statusB?.id, statusB?.state, statusB?.apns.total], ['app-b', a.id, 'completed', 0]);
      assert.equal(await store.get({ app: 'app-c', id: a.id }), undefined);
    });

    it('creates or marks a record active in one step when asked, never a finished one', async () => {
      const store = await factory(60);
      const fresh = plan({ active: true });
      assert.deepEqual(await store.create(fresh), { created: true });
      assert.equal((await store.get(fresh))?.state, 'active');
      const queued = plan();
      await store.create(queued);
      assert.equal((await store.get(queued))?.state, 'queued');
      assert.deepEqual(await store.create({ ...queued, active: true }), { created: false, state: 'queued', owner: '' });
      assert.equal((await store.get(queued))?.state, 'active');
      const done = plan({ chunks: 0, tokens: 0 });
      await store.create(done);
      await store.completeChunk(done, undefined, 1);
      assert.deepEqual(await store.create({ ...done, active: true }), { created: false, state: 'completed', owner: '' });
      assert.equal((await store.get(done))?.state, 'completed');
    });

    it('records the first settlement of each token and counts it once', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 5 });
      await store.create(p);
      await store.markActive(p);
      await store.record(p, [
        { index: 0, kind: 'delivered' },
        { index: 1, kind: 'failed', reason: 'Unregistered', invalid: { token: 'aa', reason: 'Unregistered', timestamp: 1_700_000_000 } },
        { index: 2, kind: 'expired' },
        { index: 3, kind: 'rescheduled', at: 5_000, retries: 2 },
      ]);
      // A crashed worker's re-run reports the same tokens again, some differently.
      await store.record(p, [
        { index: 0, kind: 'delivered' },
        { index: 1, kind: 'delivered' },
        { index: 2, kind: 'failed', reason: 'BadTopic' },
      ]);
      const status = await store.get(p);
      assert.equal(status?.state, 'active');
      assert.equal(status?.attempts, 3);
      assert.deepEqual(status?.apns, {
        total: 5,
        sent: 1,
        failed: 2,
        expired: 1,
        pending: 2,
        invalidTokens: [{ token: 'aa', reason: 'Unregistered', timestamp: 1_700_000_000 }],
        failures: { Unregistered: 1, Expired: 1 },
      });
      assert.deepEqual(await store.progress(p, 0, 5), [
        { settled: true },
        { settled: true },
        { settled: true },
        { settled: false, retries: 2, dueAt: 5_000 },
        { settled: false, retries: 0, dueAt: 0 },
      ]);
      assert.deepEqual(await store.progress(p, 3, 1), [{ settled: false, retries: 2, dueAt: 5_000 }]);
    });

    it('settles a rescheduled token when its outcome arrives', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 1, chunks: 1 });
      await store.create(p);
      await store.record(p, [{ index: 0, kind: 'rescheduled', at: 10, retries: 1 }]);
      await store.record(p, [{ index: 0, kind: 'delivered' }]);
      assert.deepEqual(await store.progress(p, 0, 1), [{ settled: true }]);
      assert.equal((await store.get(p))?.apns.sent, 1);
    });

    it('finishes a notification when its last chunk completes, telling exactly one caller', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 2, chunks: 2 });
      await store.create(p);
      await store.record(p, [{ index: 0, kind: 'delivered' }, { index: 1, kind: 'failed', reason: 'BadDeviceToken' }]);
      assert.deepEqual(await store.completeChunk(p, 0, 1_000), { finished: false });
      assert.deepEqual(await store.completeChunk(p, 0, 1_000), { finished: false });
      const last = await Promise.all([store.completeChunk(p, 1, 2_000), store.completeChunk(p, 1, 2_000)]);
      assert.deepEqual(last.filter((f) => f.finished), [{ finished: true, app: 'app-a', state: 'completed', sent: 1, failed: 1, expired: 0 }]);
      const status = await store.get(p);
      assert.equal(status?.state, 'completed');
      assert.equal(status?.finishedAt, 2_000);
      await store.markActive(p);
      assert.equal((await store.get(p))?.state, 'completed');
    });

    it('records a chunk\'s last outcomes in the step that completes it, keeping every first settlement', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 3, chunks: 1 });
      await store.create(p);
      await store.record(p, [{ index: 0, kind: 'delivered' }]);
      const invalid = { token: 'ab', reason: 'Unregistered', timestamp: 5 };
      const last = await store.completeChunk(p, 0, 4_000, [
        { index: 0, kind: 'failed', reason: 'BadDeviceToken' },
        { index: 1, kind: 'delivered' },
        { index: 2, kind: 'failed', reason: 'Unregistered', invalid },
      ]);
      assert.deepEqual(last, { finished: true, app: 'app-a', state: 'completed', sent: 2, failed: 1, expired: 0 });
      assert.deepEqual(await store.progress(p, 0, 3), [{ settled: true }, { settled: true }, { settled: true }]);
      const status = await store.get(p);
      assert.deepEqual(status?.apns, { total: 3, sent: 2, failed: 1, expired: 0, pending: 0, invalidTokens: [invalid], failures: { Unregistered: 1 } });
      assert.deepEqual(await store.completeChunk(p, 0, 5_000, [{ index: 1, kind: 'expired' }]), { finished: false });
      assert.equal((await store.get(p))?.apns.expired, 0);
    });

    it('fails a notification none of whose tokens could be delivered', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 1, chunks: 1 });
      await store.create(p);
      await store.record(p, [{ index: 0, kind: 'expired' }]);
      assert.deepEqual(await store.completeChunk(p, 0, 3), { finished: true, app: 'app-a', state: 'failed', sent: 0, failed: 1, expired: 1 });
    });

    it('counts FCM and Web Push tokens per platform, recorded as they arrive and settled at once, APNs being the rest', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 5, chunks: 3 });
      await store.create(p);
      assert.equal((await store.get(p))?.platforms, undefined, 'nothing counted apart yet');
      await store.record(p, [
        { index: 0, kind: 'delivered' },
        { index: 1, kind: 'delivered', platform: 'fcm' },
        { index: 1, kind: 'failed', reason: 'Late', platform: 'fcm' },
      ]);
      await store.completeChunk(p, 0, 5, [{ index: 2, kind: 'failed', reason: 'UNREGISTERED', platform: 'fcm', invalid: { token: 'fcm-2', reason: 'UNREGISTERED' } }]);
      await store.completeChunk(p, 1, 6, [{ index: 3, kind: 'delivered', platform: 'web' }, { index: 3, kind: 'delivered', platform: 'web' }]);
      const done = await store.completeChunk(p, 2, 7, [{ index: 4, kind: 'failed', reason: 'Gone', platform: 'web' }]);
      assert.deepEqual(done, { finished: true, app: 'app-a', state: 'completed', sent: 3, failed: 2, expired: 0 });
      const status = await store.get(p);
      assert.deepEqual(status?.platforms, { apns: { sent: 1, failed: 0 }, fcm: { sent: 1, failed: 1 }, web: { sent: 1, failed: 1 } }, 'a token counts once, on its first settlement');
      assert.deepEqual([status?.apns.sent, status?.apns.failed], [3, 2], 'apns keeps counting every token, as for older clients');

      // One chunk settled by one call: the fast path writes the per-platform counts in the same step.
      const one = plan({ tokens: 3, chunks: 1 });
      await store.create({ ...one, active: true });
      const finished = await store.completeChunk(one, 0, 8, [
        { index: 0, kind: 'delivered', platform: 'web' },
        { index: 1, kind: 'failed', reason: 'Gone', platform: 'web', invalid: { token: 'w-1', reason: 'Gone' } },
        { index: 2, kind: 'delivered' },
      ]);
      assert.deepEqual(finished, { finished: true, app: 'app-a', state: 'completed', sent: 2, failed: 1, expired: 0 });
      assert.deepEqual((await store.get(one))?.platforms, { apns: { sent: 1, failed: 0 }, fcm: { sent: 0, failed: 0 }, web: { sent: 1, failed: 1 } });
    });

    it('finishes a notification without chunks at once', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 0, chunks: 0 });
      await store.create(p);
      await store.recordRealtime(p, { channels: 2 });
      assert.equal(await store.realtimeDone(p), true);
      assert.deepEqual(await store.completeChunk(p, undefined, 9), { finished: true, app: 'app-a', state: 'completed', sent: 0, failed: 0, expired: 0 });
      assert.deepEqual((await store.get(p))?.realtime, { channels: 2 });
    });

    it('keeps a realtime failure and answers realtimeDone only after recording', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 0, chunks: 0 });
      await store.create(p);
      assert.equal(await store.realtimeDone(p), false);
      await store.recordRealtime(p, { error: 'channels must be a non-empty list' });
      assert.equal(await store.realtimeDone(p), true);
      assert.deepEqual((await store.get(p))?.realtime, { channels: 0, error: 'channels must be a non-empty list' });
    });

    it('lets one run claim the realtime part, until it gives the claim back', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 0, chunks: 0 });
      await store.create(p);
      assert.equal(await store.claimRealtime(p), true);
      assert.equal(await store.claimRealtime(p), false);
      assert.equal(await store.realtimeDone(p), false, 'a claim is not a publication');
      await store.releaseRealtime(p);
      assert.equal(await store.claimRealtime(p), true);
    });

    it('says first send only once', async () => {
      const store = await factory(60);
      const p = plan();
      await store.create(p);
      assert.equal(await store.firstSend(p, 5), true);
      assert.equal(await store.firstSend(p, 6), false);
    });

    it('fails a whole notification, creating its record if needed, but never a finished one', async () => {
      const store = await factory(60);
      const unknown = plan({ app: 'app-x' });
      assert.deepEqual(await store.fail(unknown, 'invalid job data: v: must be 1', 42), {
        finished: true,
        app: 'app-x',
        state: 'failed',
        sent: 0,
        failed: 0,
        expired: 0,
        reason: 'invalid job data: v: must be 1',
      });
      const status = await store.get(unknown);
      assert.equal(status?.state, 'failed');
      assert.equal(status?.error, 'invalid job data: v: must be 1');
      const done = plan({ tokens: 0, chunks: 0 });
      await store.create(done);
      await store.completeChunk(done, undefined, 1);
      assert.deepEqual(await store.fail(done, 'late', 2), { finished: false });
      assert.equal((await store.get(done))?.state, 'completed');
    });

    it('keeps a notification sent later the retention beyond its send time', async () => {
      const store = await factory(1);
      const p = plan({ notBefore: Date.now() + 60_000 });
      await store.create(p);
      const plain = plan();
      await store.create(plain);
      await waitFor(async () => (await store.get(plain)) === undefined, { timeoutMs: 5_000, what: 'the plain record expired' });
      assert.ok(await store.get(p));
    });

    it('forgets a notification after the retention', async () => {
      const store = await factory(1);
      const p = plan();
      await store.create(p);
      await store.record(p, [{ index: 0, kind: 'delivered' }]);
      assert.ok(await store.get(p));
      await waitFor(async () => (await store.get(p)) === undefined, { timeoutMs: 5_000, what: 'record expired' });
      assert.deepEqual(await store.progress(p, 0, 1), [{ settled: false, retries: 0, dueAt: 0 }]);
    });

    it('cancels a queued notification in one step: failed with error cancelled, and no worker can start it after', async () => {
      const store = await factory(60);
      const p = plan({ notBefore: Date.now() + 60_000 });
      await store.create(p);
      assert.deepEqual(await store.cancel(p, 5_000), { cancelled: true });
      const status = await store.get(p);
      assert.deepEqual([status?.state, status?.error, status?.finishedAt], ['failed', 'cancelled', 5_000]);
      // The worker's two ways in: both see it finished and leave it so.
      assert.deepEqual(await store.create({ ...p, active: true }), { created: false, state: 'failed', owner: '' });
      assert.equal(await store.markActive(p), 'failed');
      assert.deepEqual(await store.completeChunk(p, undefined, 6_000), { finished: false });
      assert.deepEqual(await store.fail(p, 'late', 6_000), { finished: false });
      assert.equal((await store.get(p))?.error, 'cancelled');
      assert.deepEqual(await store.cancel(p, 7_000), { cancelled: false, state: 'failed' });
      assert.equal(await store.known(p), true);
    });

    it('refuses to cancel a started or finished notification, and an unknown one unless told it is waiting', async () => {
      const store = await factory(60);
      const active = plan({ active: true });
      await store.create(active);
      assert.deepEqual(await store.cancel(active, 1), { cancelled: false, state: 'active' });
      assert.equal((await store.get(active))?.state, 'active');
      const queued = plan();
      await store.create(queued);
      assert.equal(await store.markActive(queued), 'queued');
      assert.deepEqual(await store.cancel(queued, 1), { cancelled: false, state: 'active' });
      const unknown = plan();
      assert.deepEqual(await store.cancel(unknown, 1), { cancelled: false, state: undefined });
      assert.equal(await store.known(unknown), false);
      assert.equal(await store.markActive(unknown), undefined);
      // A job queued straight into BullMQ has no record yet: the caller saw it waiting.
      assert.deepEqual(await store.cancel(unknown, 2_000, 1_500), { cancelled: true });
      const created = await store.get(unknown);
      assert.deepEqual([created?.state, created?.error, created?.createdAt, created?.app], ['failed', 'cancelled', 1_500, 'app-a']);
      assert.deepEqual(await store.create({ ...unknown, active: true }), { created: false, state: 'failed', owner: '' });
    });

    it('lets exactly one of a racing cancel and worker start win', async () => {
      const store = await factory(60);
      for (let i = 0; i < 20; i += 1) {
        const p = plan();
        await store.create(p);
        const starting = i % 2 ? store.markActive(p) : store.create({ ...p, active: true }).then((r) => (r.created ? undefined : r.state));
        const [cancel, before] = await Promise.all([store.cancel(p, 1), starting]);
        const startedFirst = before === 'queued';
        assert.notEqual(cancel.cancelled, startedFirst, `round ${i}`);
        assert.equal((await store.get(p))?.state, cancel.cancelled ? 'failed' : 'active');
      }
    });

    it('names the job that delivers it: another job finds it owned while queued or active and changes nothing', async () => {
      const store = await factory(60);
      const p = plan({ owner: 'b:0:first' });
      assert.deepEqual(await store.create(p), { created: true });
      // A second envelope carrying the same id (a producer's retry) must leave it alone.
      assert.deepEqual(await store.create({ ...p, owner: 'b:0:second', active: true }), { created: false, state: 'queued', owner: 'b:0:first' });
      assert.equal((await store.get(p))?.state, 'queued', 'a foreign job does not start it');
      assert.deepEqual(await store.create({ ...p, owner: 'b:0:first', active: true }), { created: false, state: 'queued', owner: 'b:0:first' });
      assert.equal((await store.get(p))?.state, 'active', 'its own job starts it');
      assert.deepEqual(await store.create({ ...p, owner: 'b:0:second', active: true }), { created: false, state: 'active', owner: 'b:0:first' });
      // A record without an owner (made by a cancel, or before owners) is anyone's.
      const bare = plan();
      await store.create(bare);
      assert.deepEqual(await store.create({ ...bare, owner: 'b:0:x', active: true }), { created: false, state: 'queued', owner: '' });
      assert.equal((await store.get(bare))?.state, 'active');
    });

    it("takes the worker's count of tokens and chunks when it starts a producer's record", async () => {
      const store = await factory(60);
      // A producer that cut with another chunk size: 3 chunks of what the worker sends as 1.
      const p = plan({ tokens: 3, chunks: 3, owner: 'n:app-a:x' });
      await store.create(p);
      await store.create({ ...p, tokens: 2, chunks: 1, active: true });
      assert.deepEqual(await store.completeChunk(p, 0, 5, [{ index: 0, kind: 'delivered' }, { index: 1, kind: 'delivered' }]), { finished: true, app: 'app-a', state: 'completed', sent: 2, failed: 0, expired: 0 });
      assert.equal((await store.get(p))?.apns.total, 2);
    });

    it('settles a one-chunk notification in the step that completes it: counts, reasons and invalid tokens as if recorded one by one', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 4, chunks: 1, active: true });
      await store.create(p);
      const invalid = { token: 'ab', reason: 'Unregistered', timestamp: 7 };
      const last = await store.completeChunk(p, 0, 9_000, [
        { index: 0, kind: 'delivered' },
        { index: 1, kind: 'failed', reason: 'Unregistered', invalid },
        { index: 2, kind: 'expired' },
        { index: 3, kind: 'delivered' },
        // A repeat of a settled token counts once.
        { index: 0, kind: 'delivered' },
      ]);
      assert.deepEqual(last, { finished: true, app: 'app-a', state: 'completed', sent: 2, failed: 2, expired: 1 });
      const status = await store.get(p);
      assert.equal(status?.state, 'completed');
      assert.equal(status?.finishedAt, 9_000);
      assert.deepEqual(status?.apns, { total: 4, sent: 2, failed: 2, expired: 1, pending: 0, invalidTokens: [invalid], failures: { Unregistered: 1, Expired: 1 } });
      // Finished: nothing is sent again, and a late repeat changes nothing.
      assert.deepEqual(await store.completeChunk(p, 0, 9_500, [{ index: 1, kind: 'delivered' }]), { finished: false });
      assert.equal((await store.get(p))?.apns.sent, 2);
    });

    it('completes a one-chunk notification whose earlier run rescheduled tokens, counting each token once', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 3, chunks: 1, active: true });
      await store.create(p);
      // An earlier run: token 0 delivered, tokens 1 and 2 to be sent again later.
      await store.record(p, [{ index: 0, kind: 'delivered' }, { index: 1, kind: 'rescheduled', at: 10, retries: 1 }, { index: 2, kind: 'rescheduled', at: 10, retries: 1 }]);
      const last = await store.completeChunk(p, 0, 6_000, [{ index: 0, kind: 'delivered' }, { index: 1, kind: 'delivered' }, { index: 2, kind: 'failed', reason: 'BadDeviceToken' }]);
      assert.deepEqual(last, { finished: true, app: 'app-a', state: 'completed', sent: 2, failed: 1, expired: 0 });
      const status = await store.get(p);
      assert.equal(status?.attempts, 2, 'the rescheduled round is counted');
      assert.deepEqual(await store.progress(p, 0, 3), [{ settled: true }, { settled: true }, { settled: true }]);
    });

    it('completes a one-chunk notification whose earlier run only rescheduled, with the counts of its last outcomes', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 2, chunks: 1, active: true });
      await store.create(p);
      await store.record(p, [{ index: 0, kind: 'rescheduled', at: 10, retries: 1 }, { index: 1, kind: 'rescheduled', at: 10, retries: 1 }]);
      const last = await store.completeChunk(p, 0, 7_000, [{ index: 0, kind: 'delivered' }, { index: 1, kind: 'expired' }]);
      assert.deepEqual(last, { finished: true, app: 'app-a', state: 'completed', sent: 1, failed: 1, expired: 1 });
      assert.deepEqual(await store.completeChunk(p, 0, 7_500, [{ index: 1, kind: 'delivered' }]), { finished: false });
      assert.equal((await store.get(p))?.apns.sent, 1);
    });

    it('records thousands of deliveries in one step, counting each token once beside earlier and mixed outcomes', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 2_600, chunks: 1, active: true });
      await store.create(p);
      await store.record(p, [{ index: 7, kind: 'failed', reason: 'BadDeviceToken' }, { index: 8, kind: 'delivered' }]);
      const many: TokenCheckpoint[] = Array.from({ length: 2_500 }, (_, index) => ({ index, kind: 'delivered' }));
      // A repeat within the step, a token failed before (stays failed), one rescheduled, one FCM token.
      many.push({ index: 3, kind: 'delivered' }, { index: 2_500, kind: 'rescheduled', at: 50, retries: 1 }, { index: 2_501, kind: 'delivered', platform: 'fcm' });
      await store.record(p, many);
      const status = await store.get(p);
      assert.equal(status?.apns.sent, 2_500, 'every delivered token once, less the one failed before, with the FCM one');
      assert.equal(status?.apns.failed, 1);
      assert.deepEqual(status?.platforms?.fcm, { sent: 1, failed: 0 });
      const progress = await store.progress(p, 2_498, 4);
      assert.deepEqual(progress, [{ settled: true }, { settled: true }, { settled: false, retries: 1, dueAt: 50 }, { settled: true }]);
      const last = await store.completeChunk(p, 0, 8_000, [{ index: 2_500, kind: 'delivered' }, { index: 9, kind: 'delivered' }]);
      assert.deepEqual(last, { finished: true, app: 'app-a', state: 'completed', sent: 2_501, failed: 1, expired: 0 });
      assert.equal((await store.get(p))?.apns.pending, 2_600 - 2_502, 'the tokens never sent are pending');
    });

    it('reads the checkpoint of a chunk of thousands of tokens', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 2_500, chunks: 1, active: true });
      await store.create(p);
      await store.record(p, [{ index: 2_400, kind: 'delivered' }, { index: 3, kind: 'rescheduled', at: 77, retries: 1 }]);
      const progress = await store.progress(p, 0, 2_500);
      assert.equal(progress.length, 2_500);
      assert.deepEqual(progress[2_400], { settled: true });
      assert.deepEqual(progress[3], { settled: false, retries: 1, dueAt: 77 });
      assert.deepEqual(progress[0], { settled: false, retries: 0, dueAt: 0 });
    });

    it('answers every one of many steps asked for at once, each about its own notification', async () => {
      const store = await factory(60);
      const plans = Array.from({ length: 300 }, (_, i) => plan({ tokens: 1, chunks: 1, owner: `b:0:${i % 2}` }));
      const created = await Promise.all(plans.map((p) => store.create(p)));
      assert.ok(created.every((c) => c.created));
      const started = await Promise.all(plans.map((p) => store.create({ ...p, active: true })));
      assert.ok(started.every((c) => !c.created && c.state === 'queued'));
      const done = await Promise.all(plans.map((p, i) => store.completeChunk(p, 0, 1, [i % 3 === 0 ? { index: 0, kind: 'failed', reason: 'BadDeviceToken' } : { index: 0, kind: 'delivered' }])));
      done.forEach((d, i) => assert.deepEqual(d, { finished: true, app: 'app-a', state: i % 3 === 0 ? 'failed' : 'completed', sent: i % 3 === 0 ? 0 : 1, failed: i % 3 === 0 ? 1 : 0, expired: 0 }));
    });

    it('records resolved targets once: the first resolution wins, sets the token and chunk counts, and finishes on its chunks', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 1, chunks: 1 });
      await store.create(p);
      assert.equal(await store.targets(p), undefined);
      const first = { users: { total: 3, online: 1, pushed: 1, noDevices: 1 }, online: ['ann'], chunks: [['a1', 'a2'], ['a3']] };
      assert.deepEqual(await store.saveTargets(p, first), first);
      // A re-run that resolved differently gets the recorded resolution back.
      assert.deepEqual(await store.saveTargets(p, { users: { total: 3, online: 0, pushed: 2, noDevices: 1 }, online: [], chunks: [['b1']] }), first);
      assert.deepEqual(await store.targets(p), first);
      const status = await store.get(p);
      assert.deepEqual([status?.apns.total, status?.apns.pending, status?.users], [3, 3, first.users]);
      assert.deepEqual(await store.completeChunk(p, 0, 5, [{ index: 0, kind: 'delivered' }, { index: 1, kind: 'delivered' }]), { finished: false });
      assert.deepEqual(await store.completeChunk(p, 1, 6, [{ index: 2, kind: 'delivered' }]), { finished: true, app: 'app-a', state: 'completed', sent: 3, failed: 0, expired: 0 });
    });

    it('keeps each chunk\'s platform and every Web Push token\'s subscription, so a re-run sends the same', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 0, chunks: 0 });
      await store.create(p);
      const subscription = { endpoint: 'https://push.example/s/1', keys: { p256dh: 'BPk', auth: 'c2VjcmV0' } };
      const resolved = {
        users: { total: 1, online: 0, pushed: 1, noDevices: 0 },
        online: [],
        chunks: [['a1'], ['fcm:tok-1', 'fcm.tok_2'], ['browser-1']],
        platforms: ['apns' as const, 'fcm' as const, 'web' as const],
        subscriptions: { 'browser-1': subscription },
      };
      assert.deepEqual(await store.saveTargets(p, resolved), resolved);
      assert.deepEqual(await store.targets(p), resolved);
      assert.deepEqual(await store.saveTargets(p, { online: [], chunks: [['b1']] }), resolved, 'a re-run gets the recorded platforms back');
      assert.equal((await store.get(p))?.apns.total, 4);
    });

    it('records an empty resolution (everyone online) as no tokens and no chunks, without user counts when there are no users', async () => {
      const store = await factory(60);
      const p = plan({ tokens: 0, chunks: 0 });
      await store.create(p);
      assert.deepEqual(await store.saveTargets(p, { online: [], chunks: [] }), { online: [], chunks: [] });
      assert.deepEqual(await store.targets(p), { online: [], chunks: [] });
      assert.equal((await store.get(p))?.users, undefined);
      assert.deepEqual(await store.completeChunk(p, undefined, 5), { finished: true, app: 'app-a', state: 'completed', sent: 0, failed: 0, expired: 0 });
    });
  });
}
