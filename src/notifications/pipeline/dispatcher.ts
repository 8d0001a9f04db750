import type { AppStore } from '../../apps/app-store.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import { eventData } from '../check-for-app.js';
import type { Notification } from '../contract/notification-schema.js';
import type { JobResult, QueueDriver, QueueJob } from '../../queue/queue-driver.js';
import { chunkJobId } from '../contract/job-ids.js';
import type { ChunkJob } from './chunk-job.js';
import type { EventBus } from '../../events.js';
import type { NotificationFinisher } from './finisher.js';
import type { NotificationRef, StatusStore } from '../status/status-store.js';
import { ownedBy } from '../contract/record-script.js';
import type { RealtimePublisher } from '../ports.js';
import { userChannel } from '../ports.js';
import type { App } from '../../apps/app-store.js';
import type { ResolvedTargets } from '../status/status-store.js';
import { chunkPlatform } from '../status/status-store.js';
import type { TargetResolver } from './targets.js';
import { explicitCounts, explicitTargets } from './targets.js';

/** The realtime result of a notification whose publishing run stopped before recording it. */
export const UNCONFIRMED_REALTIME = 'not confirmed: the process stopped between publishing and recording the event; not published again';

/** Sends a one-chunk notification inside its job; `fresh`: no earlier run can have sent any of it. */
export type InlineSend = (job: QueueJob<ChunkJob>, signal: AbortSignal, fresh: boolean) => Promise<JobResult>;

/** The queue job a notification came in: a `notify` job of its own, or an envelope of many. */
export interface CarrierJob {
  /** The job id: the owner its status record names. */
  id: string;
  attempt: number;
  enqueuedAt: number;
}

export interface DispatcherOptions {
  apps: AppStore;
  store: StatusStore;
  /** The chunk queue of a notification's partition. */
  chunksOf(ref: NotificationRef): QueueDriver<ChunkJob>;
  publisher: RealtimePublisher;
  /** Resolves `to` (users, interests); absent: a notification with `to` fails. */
  targets?: TargetResolver;
  finisher: NotificationFinisher;
  events: EventBus;
  metrics: Metrics;
  log: Logger;
  chunkSize: number;
  /**
   * Sends a chunk inside the `notify` job (a notification whose tokens fit in one chunk):
   * no second job, same per-token checkpoints. Absent: every chunk becomes a chunk job.
   */
  sendInline?: InlineSend;
  now?: () => number;
}

/**
 * Runs a `notify` job, however it was queued (HTTP, `herald/client`, another program's
 * `Queue.add`): creates the status record, waits for `sendAt`, publishes the realtime
 * part, and cuts the APNs tokens into chunk jobs — or, when they fit in one chunk, sends
 * them itself, checkpointed per token like a chunk job. Every step is safe to repeat, so a
 * job re-run after a crash sends nothing twice (beyond the tokens within the send budget);
 * a realtime event is published at most once.
 */
export class Dispatcher {
  private readonly now: () => number;

  constructor(private readonly o: DispatcherOptions) {
    this.now = o.now ?? Date.now;
  }

  readonly handle = (job: QueueJob<Notification>, signal?: AbortSignal): Promise<JobResult> => this.run(job.data, job, signal);

  /** Runs one notification of `job` (its own `notify` job, or one of an envelope's). */
  async run(n: Notification, job: CarrierJob, signal?: AbortSignal): Promise<JobResult> {
    const app = this.o.apps.byId(n.app);
    if (!app) {
      // Nobody may own a status record under an app that does not exist.
      this.o.metrics.invalidJobs.inc();
      this.o.log.error({ notification: n.id, app: n.app.slice(0, 64) }, 'notification job names an unknown app: failed');
      return { type: 'failed', reason: `unknown app '${n.app.slice(0, 64)}'` };
    }
    const counts = explicitCounts(n, this.o.chunkSize);
    const sendAt = n.sendAt === undefined ? 0 : Date.parse(n.sendAt);
    // Due now: the record is created (or marked) active in the same step.
    const active = sendAt <= this.now();
    const ref = { app: app.id, id: n.id };
    const created = await this.o.store.create({ app: app.id, id: n.id, createdAt: job.enqueuedAt, tokens: counts.tokens, chunks: counts.chunks, notBefore: sendAt, active, owner: job.id });
    if (!ownedBy(created, job.id)) {
      // The same id reached the queue twice (a producer's retry): the job that owns it delivers it.
      this.o.log.info({ notification: n.id, app: app.id, owner: created.created ? job.id : created.owner }, 'notification owned by another queue job: not sent by this one');
      return { type: 'done' };
    }
    // Nothing of it can have been sent before: the record is new, or was still queued.
    const fresh = created.created || created.state === 'queued';
    if (created.created) {
      this.o.metrics.notifications.inc({ app: app.id, status: 'accepted' });
      this.o.events.emit('notification.accepted', { app: app.id, id: n.id });
    } else if (created.state === 'completed' || created.state === 'failed') {
      // Finished, or cancelled while queued (failed, error `cancelled`): never sent.
      this.o.metrics.notifications.inc({ app: app.id, status: 'duplicate' });
      this.o.log.info({ notification: n.id, app: app.id, state: created.state }, 'notification already finished or cancelled: job ignored');
      return { type: 'done' };
    }

    if (!active) {
      if (sendAt > this.now()) return { type: 'delay', afterMs: sendAt - this.now() };
      // Queued → active in one step: a cancel that got there first leaves it failed.
      const before = await this.o.store.markActive(ref);
      if (before === 'completed' || before === 'failed') {
        this.o.log.info({ notification: n.id, app: app.id, state: before }, 'notification already finished or cancelled: job ignored');
        return { type: 'done' };
      }
    }

    // Users and interests are resolved once, and the answer recorded before anything is
    // sent: a re-run after a crash sends to what was decided, never to a new resolution.
    let targets: ResolvedTargets;
    if (n.to) {
      if (!this.o.targets) return { type: 'failed', reason: 'no device registry to resolve to.users and to.interests' };
      targets = (await this.o.store.targets(ref)) ?? (await this.o.store.saveTargets(ref, await this.o.targets.resolve(n, signal)));
    } else {
      targets = explicitTargets(n, this.o.chunkSize);
    }

    const channels = [...(n.realtime?.channels ?? []), ...targets.online.map(userChannel)];
    if (n.realtime && channels.length > 0 && !(await this.o.store.realtimeDone(ref))) {
      const { event, data, socketId } = n.realtime;
      const serialized = eventData(data);
      // Parsing bounds the depth, so this is a last guard: caller data that cannot be serialised fails the notification, never the job's retries.
      if (!serialized.ok) return { type: 'failed', reason: `realtime.data ${serialized.error}` };
      // At most once: claimed before publishing, so a run after a crash between publishing
      // and recording does not publish again (Pusher events are at-most-once anyway).
      if (await this.o.store.claimRealtime(ref)) {
        let published;
        try {
          published = await this.publish(app, channels, targets.online.length > 0, { name: event, data: serialized.json, ...(socketId === undefined ? {} : { socketId }) });
        } catch (err) {
          // Not a crash: the job is retried and may publish again (best effort when Redis itself failed).
          await this.o.store.releaseRealtime(ref).catch(() => undefined);
          throw err;
        }
        if (!published.ok) this.o.log.warn({ notification: n.id, app: app.id, error: published.message }, 'realtime part refused');
        await this.o.store.recordRealtime(ref, published.ok ? { channels: published.channels } : { error: published.message });
      } else {
        this.o.log.warn({ notification: n.id, app: app.id }, 'realtime part claimed by an earlier run that did not record it: not published again');
        await this.o.store.recordRealtime(ref, { error: UNCONFIRMED_REALTIME });
      }
    }

    if (targets.chunks.length === 0) {
      await this.o.finisher.completeChunk(ref, undefined);
      return { type: 'done' };
    }
    const jobs: Array<{ id: string; data: ChunkJob }> = [];
    let from = 0;
    for (const [chunk, slice] of targets.chunks.entries()) {
      const data: ChunkJob = { v: 1, notification: n.id, app: app.id, createdAt: job.enqueuedAt, chunk, from, tokens: slice, ...platformPart(n, targets, chunk, slice) };
      jobs.push({ id: chunkJobId(ref, chunk), data });
      from += slice.length;
    }
    // A one-chunk notification is sent here: a retry-after or a hand-back delays this job,
    // whose re-run skips what is recorded and resumes from the token checkpoints.
    const only = jobs.length === 1 ? jobs[0] : undefined;
    if (only && this.o.sendInline) return this.o.sendInline({ id: only.id, data: only.data, attempt: job.attempt, enqueuedAt: job.enqueuedAt }, signal ?? new AbortController().signal, fresh && active);
    // Idempotent by chunk id: a re-run after a crash adds only what is missing.
    await this.o.chunksOf(ref).enqueueMany(jobs);
    return { type: 'done' };
  }

  /** One event on every channel, in groups within the app's channels-per-event limit; the first refusal stops it. */
  private async publish(app: App, channels: readonly string[], grouped: boolean, event: { name: string; data: string; socketId?: string }): Promise<Awaited<ReturnType<RealtimePublisher['publish']>>> {
    // Without users' channels the event goes as the producer gave it (its channels were checked at intake).
    const group = grouped ? Math.max(1, app.limits.maxEventChannelsAtOnce) : channels.length;
    let published = 0;
    for (let from = 0; from < channels.length; from += group) {
      const result = await this.o.publisher.publish(app, { channels: channels.slice(from, from + group), ...event }, { source: 'notification' });
      if (!result.ok) return result;
      published += result.channels;
    }
    return { ok: true, channels: published };
  }
}

/** A chunk's platform and that platform's part of the notification (for Web Push, with its tokens' subscriptions). */
function platformPart(n: Notification, targets: ResolvedTargets, chunk: number, tokens: readonly string[]): Pick<ChunkJob, 'platform' | 'apns' | 'fcm' | 'webpush'> {
  const platform = chunkPlatform(targets, chunk);
  if (platform === 'fcm' && n.fcm) {
    const { tokens: _all, ...fcm } = n.fcm;
    return { platform, fcm };
  }
  if (platform === 'web' && n.webpush) {
    const subscriptions: NonNullable<ChunkJob['webpush']>['subscriptions'] = {};
    for (const token of tokens) {
      const subscription = targets.subscriptions?.[token];
      if (subscription) subscriptions[token] = subscription;
    }
    return { platform, webpush: { subscriptions, ...n.webpush } };
  }
  // APNs chunks keep the shape they always had (no platform field): older workers read them.
  if (!n.apns) return {};
  const { tokens: _all, ...apns } = n.apns;
  return { apns };
}
