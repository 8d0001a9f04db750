// The device registry in Redis, shared by every Herald process (see docs/devices.md for the layout).
import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/redis-client.js';
import { whenReady } from '../redis/redis-client.js';
import { dataPart, decodeDevice, tokenField } from './redis-device-codec.js';
import { devicesOfUsersLua, getLua, interestPageLua, putLua, removeLua, removeUserLua } from './redis-device-scripts.js';
import type { Device, DeviceRegistry, InterestPage } from './device-registry.js';

/** Buckets of 512 ids an interest page may probe in one call, so a sparse interest cannot hold Redis long. */
const MAX_PROBES = 256;

interface BufferScripting {
  evalshaBuffer(sha: string, numKeys: number, ...keysAndArgs: Array<string | number | Buffer>): Promise<unknown>;
  evalBuffer(lua: string, numKeys: number, ...keysAndArgs: Array<string | number | Buffer>): Promise<unknown>;
}

/** A script whose replies carry binary data (raw tokens): run with EVALSHA, EVAL after a NOSCRIPT. */
class BinaryScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: RedisClient, key: string, args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
    // ioredis defines a Buffer variant of every command; its typings leave out the scripting ones.
    const buffered = client as unknown as BufferScripting;
    try {
      return await buffered.evalshaBuffer(this.sha, 1, key, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return buffered.evalBuffer(this.lua, 1, key, ...args);
    }
  }
}

const scripts = {
  put: new BinaryScript(putLua),
  get: new BinaryScript(getLua),
  remove: new BinaryScript(removeLua),
  removeUser: new BinaryScript(removeUserLua),
  devicesOfUsers: new BinaryScript(devicesOfUsersLua),
  interestPage: new BinaryScript(interestPageLua),
};

type Pair = [Buffer | null, Buffer | null];

/**
 * Every key of an app is `<prefix>:{dev:<app>}:…`: one hash tag, so each script's keys
 * share a Cluster slot and every write (register, move, remove) is atomic.
 */
export class RedisDeviceRegistry implements DeviceRegistry {
  readonly name = 'device-registry';

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async start(): Promise<void> {
    await whenReady(this.redis, AbortSignal.timeout(30_000));
  }

  async stop(): Promise<void> {
    this.redis.disconnect();
  }

  async put(app: string, device: Device): Promise<{ created: boolean; device: Device }> {
    const created = await scripts.put.run(this.redis, this.meta(app), [this.base(app), tokenField(device.token), device.userId, device.interests.join(' '), dataPart(device)]);
    return { created: created === 1, device: structuredClone(device) };
  }

  async get(app: string, token: string): Promise<Device | undefined> {
    const reply = (await scripts.get.run(this.redis, this.meta(app), [this.base(app), tokenField(token)])) as Pair | null;
    return reply ? decodeDevice(reply[0], reply[1]) : undefined;
  }

  async remove(app: string, token: string): Promise<Device | undefined> {
    const reply = (await scripts.remove.run(this.redis, this.meta(app), [this.base(app), tokenField(token)])) as Pair | null;
    return reply ? decodeDevice(reply[0], reply[1]) : undefined;
  }

  async listByUser(app: string, userId: string): Promise<Device[]> {
    return (await this.devicesOfUsers(app, [userId])).get(userId) ?? [];
  }

  async removeUser(app: string, userId: string): Promise<number> {
    return Number(await scripts.removeUser.run(this.redis, this.meta(app), [this.base(app), userId]));
  }

  async devicesOfUsers(app: string, userIds: readonly string[]): Promise<Map<string, Device[]>> {
    const found = new Map<string, Device[]>();
    if (userIds.length === 0) return found;
    const reply = (await scripts.devicesOfUsers.run(this.redis, this.meta(app), [this.base(app), ...userIds])) as Array<Array<Buffer | null>>;
    for (const [index, userId] of userIds.entries()) {
      const devices = pairs(reply[index] ?? []);
      if (devices.length > 0) found.set(userId, devices);
    }
    return found;
  }

  async interestPage(app: string, interest: string, cursor: string | undefined, count: number): Promise<InterestPage> {
    const from = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(from) || from < 0) return { devices: [], cursor: undefined };
    const reply = (await scripts.interestPage.run(this.redis, this.meta(app), [this.base(app), interest, from, Math.max(1, count), MAX_PROBES])) as Array<Buffer | null>;
    const next = reply[0]?.toString('utf8') ?? '';
    return { devices: pairs(reply.slice(1)), cursor: next === '' ? undefined : next };
  }

  async interestSize(app: string, interest: string): Promise<number> {
    return Number((await this.redis.hget(`${this.base(app)}isz`, interest)) ?? 0);
  }

  private base(app: string): string {
    return `${this.prefix}:{dev:${app}}:`;
  }

  private meta(app: string): string {
    return `${this.base(app)}m`;
  }
}

/** `[index, data, index, data, …]` → devices (an unreadable record is skipped, never thrown). */
function pairs(flat: ReadonlyArray<Buffer | null>): Device[] {
  const devices: Device[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const device = decodeDevice(flat[i], flat[i + 1]);
    if (device) devices.push(device);
  }
  return devices;
}
