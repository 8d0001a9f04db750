/**
 * Resolves a notification's `to` (users, interests) into what it is sent to, when it is
 * delivered: who gets the realtime event on `#server-to-user-{id}`, and the device tokens
 * of each platform the notification has a part for (explicit ones first, then users' and
 * interests' devices, without duplicates) cut into chunks of one platform each, with the
 * browser subscription of every Web Push token. The dispatcher records the answer before sending
 * (StatusStore.saveTargets), so a run after a crash never resolves again.
 */
import type { Device, DevicePlatform, DeviceRegistry, WebPushSubscription } from '../../devices/device-registry.js';
import type { DeliverMode, Notification } from '../contract/notification-schema.js';
import type { UserPresence } from '../ports.js';
import type { ResolvedTargets, UserCounts } from '../status/status-store.js';

/** What resolving needs of the registry: one round trip per batch of users, interests by page. */
export type DeviceDirectory = Pick<DeviceRegistry, 'devicesOfUsers' | 'interestPage'>;

export interface TargetResolverOptions {
  devices: DeviceDirectory;
  presence: UserPresence;
  chunkSize: number;
  /** Devices asked for per interest page. */
  pageSize?: number;
}

/** Chunks are cut in this order: APNs first, as before FCM and Web Push existed. */
const PLATFORMS: readonly DevicePlatform[] = ['apns', 'fcm', 'web'];

export class TargetResolver {
  private readonly pageSize: number;

  constructor(private readonly o: TargetResolverOptions) {
    this.pageSize = o.pageSize ?? 1_000;
  }

  async resolve(n: Notification, signal?: AbortSignal): Promise<ResolvedTargets> {
    const tokens = new PlatformTokens(n);
    const users = n.to?.users ?? [];
    const mode: DeliverMode = n.deliver ?? 'both';
    let counts: UserCounts | undefined;
    const online: string[] = [];
    if (users.length > 0) {
      // Presence matters only when someone gets the realtime event: push-only, or no event, asks nobody.
      const askPresence = n.realtime !== undefined && mode !== 'push';
      const [devices, present] = await Promise.all([
        this.o.devices.devicesOfUsers(n.app, users),
        askPresence ? this.o.presence.onlineUsers(n.app, users) : Promise.resolve(new Set<string>()),
      ]);
      counts = { total: users.length, online: 0, pushed: 0, noDevices: 0 };
      for (const user of users) {
        const isOnline = present.has(user);
        if (isOnline) {
          counts.online += 1;
          online.push(user);
        }
        if (mode === 'online-first' && isOnline) continue;
        const sendable = (devices.get(user) ?? []).filter((device) => tokens.accepts(device));
        if (sendable.length > 0) {
          counts.pushed += 1;
          for (const device of sendable) tokens.add(device);
        } else if (!isOnline) {
          counts.noDevices += 1;
        }
      }
    }
    for (const interest of n.to?.interests ?? []) {
      let cursor: string | undefined;
      do {
        signal?.throwIfAborted();
        const page = await this.o.devices.interestPage(n.app, interest, cursor, this.pageSize);
        for (const device of page.devices) if (tokens.accepts(device)) tokens.add(device);
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
    return { online, ...(counts ? { users: counts } : {}), ...tokens.chunks(this.o.chunkSize) };
  }
}

/** A notification's explicit tokens (`apns.tokens`, `fcm.tokens`) as chunks, when there is no `to` to resolve. */
export function explicitTargets(n: Notification, chunkSize: number): ResolvedTargets {
  return { online: [], ...new PlatformTokens(n).chunks(chunkSize) };
}

/** How many tokens and chunks a notification's explicit tokens make (what its record counts until `to` is resolved). */
export function explicitCounts(n: Notification, chunkSize: number): { tokens: number; chunks: number } {
  const apns = n.apns?.tokens.length ?? 0;
  const fcm = n.fcm?.tokens.length ?? 0;
  return { tokens: apns + fcm, chunks: Math.ceil(apns / chunkSize) + Math.ceil(fcm / chunkSize) };
}

/** The tokens of each platform the notification has a part for; a Web Push device counts only with its subscription. */
class PlatformTokens {
  private readonly lists = new Map<DevicePlatform, TokenList>();
  private readonly subscriptions: Record<string, WebPushSubscription> = {};

  constructor(n: Notification) {
    if (n.apns) this.lists.set('apns', new TokenList(n.apns.tokens));
    if (n.fcm) this.lists.set('fcm', new TokenList(n.fcm.tokens));
    if (n.webpush) this.lists.set('web', new TokenList([]));
  }

  accepts(device: Device): boolean {
    return this.lists.has(device.platform) && (device.platform !== 'web' || device.subscription !== undefined);
  }

  add(device: Device): void {
    const list = this.lists.get(device.platform);
    if (!list?.add(device.token)) return;
    if (device.platform === 'web' && device.subscription) this.subscriptions[device.token] = device.subscription;
  }

  chunks(size: number): Pick<ResolvedTargets, 'chunks' | 'platforms' | 'subscriptions'> {
    const chunks: string[][] = [];
    const platforms: DevicePlatform[] = [];
    for (const platform of PLATFORMS) {
      for (const chunk of this.lists.get(platform)?.chunks(size) ?? []) {
        chunks.push(chunk);
        platforms.push(platform);
      }
    }
    // All-APNs resolutions keep the shape records had before the other platforms.
    if (platforms.every((platform) => platform === 'apns')) return { chunks };
    return { chunks, platforms, ...(Object.keys(this.subscriptions).length > 0 ? { subscriptions: this.subscriptions } : {}) };
  }
}

/** Tokens in first-seen order, each once. */
class TokenList {
  private readonly seen: Set<string>;
  private readonly order: string[];

  constructor(initial: readonly string[]) {
    this.seen = new Set(initial);
    this.order = [...this.seen];
  }

  /** False when it was there already. */
  add(token: string): boolean {
    if (this.seen.has(token)) return false;
    this.seen.add(token);
    this.order.push(token);
    return true;
  }

  chunks(size: number): string[][] {
    const chunks: string[][] = [];
    for (let from = 0; from < this.order.length; from += size) chunks.push(this.order.slice(from, from + size));
    return chunks;
  }
}
