// The device registry: which devices (tokens) belong to which user and interests, per app.
import type { Service } from '../lib/service.js';

export type DevicePlatform = 'apns' | 'fcm' | 'web';

/** A Web Push subscription as browsers hand it over (PushSubscription.toJSON()). */
export interface WebPushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/**
 * One registered device. `token` is the registry's key in its canonical form
 * (see deviceToken): for APNs the normalized hex token, for FCM the registration
 * token, for Web Push an id the client chose.
 */
export interface Device {
  token: string;
  userId: string;
  platform: DevicePlatform;
  interests: string[];
  topic?: string;
  environment?: 'production' | 'sandbox';
  subscription?: WebPushSubscription;
  /** When it was last registered (ms since the epoch). */
  updatedAt: number;
}

export interface InterestPage {
  devices: Device[];
  /** Where the next page starts; undefined once the interest has been read to its end. */
  cursor: string | undefined;
}

/**
 * Every implementation passes test/conformance/device-registry.ts. Callers pass
 * validated values (the HTTP routes validate; see device-input.ts): tokens canonical,
 * user ids and interests within their character sets.
 */
export interface DeviceRegistry extends Service {
  /** Registers or re-registers: the token moves to `device.userId` and its interests are replaced. */
  put(app: string, device: Device): Promise<{ created: boolean; device: Device }>;
  get(app: string, token: string): Promise<Device | undefined>;
  /** The removed device, or undefined when there was none. */
  remove(app: string, token: string): Promise<Device | undefined>;
  listByUser(app: string, userId: string): Promise<Device[]>;
  /** Removes every device of the user; returns how many there were. */
  removeUser(app: string, userId: string): Promise<number>;
  /** The devices of a batch of users in one round trip; users without devices are absent from the map. */
  devicesOfUsers(app: string, userIds: readonly string[]): Promise<Map<string, Device[]>>;
  /**
   * One page of an interest's devices, from `cursor` (undefined: the start). A device
   * subscribed for the whole paging is returned at least once; devices added or removed
   * meanwhile may or may not be. A page may hold fewer than `count` devices (even none)
   * while more follow: read until the cursor is undefined.
   */
  interestPage(app: string, interest: string, cursor: string | undefined, count: number): Promise<InterestPage>;
  interestSize(app: string, interest: string): Promise<number>;
}
