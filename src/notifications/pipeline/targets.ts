/**
 * Resolves a notification's `to` (users, interests) into what it is sent to, when it is
 * delivered: who gets the realtime event on `#server-to-user-{id}`, and the APNs tokens
 * (explicit ones first, then users' and interests' devices, without duplicates) cut into
 * the chunks they will be sent in. The dispatcher records the answer before sending
 * (StatusStore.saveTargets), so a run after a crash never resolves again.
 */
import type { Device, DevicePlatform, DeviceRegistry } from '../../devices/device-registry.js';
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

/** The platforms a provider sends to today; FCM and Web Push devices join when their providers plug in. */
const SENDABLE: ReadonlySet<DevicePlatform> = new Set(['apns']);

export class TargetResolver {
  private readonly pageSize: number;

  constructor(private readonly o: TargetResolverOptions) {
    this.pageSize = o.pageSize ?? 1_000;
  }

  async resolve(n: Notification, signal?: AbortSignal): Promise<ResolvedTargets> {
    const tokens = new TokenList(n.apns?.tokens ?? []);
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
        const sendable = (devices.get(user) ?? []).filter(canSend);
        if (sendable.length > 0) {
          counts.pushed += 1;
          for (const device of sendable) tokens.add(device.token);
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
        for (const device of page.devices) if (canSend(device)) tokens.add(device.token);
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
    return { ...(counts ? { users: counts } : {}), online, chunks: tokens.chunks(this.o.chunkSize) };
  }
}

function canSend(device: Device): boolean {
  return SENDABLE.has(device.platform);
}

/** Tokens in first-seen order, each once. */
class TokenList {
  private readonly seen: Set<string>;
  private readonly order: string[];

  constructor(initial: readonly string[]) {
    this.seen = new Set(initial);
    this.order = [...this.seen];
  }

  add(token: string): void {
    if (this.seen.has(token)) return;
    this.seen.add(token);
    this.order.push(token);
  }

  chunks(size: number): string[][] {
    const chunks: string[][] = [];
    for (let from = 0; from < this.order.length; from += size) chunks.push(this.order.slice(from, from + size));
    return chunks;
  }
}
