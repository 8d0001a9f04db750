// The device registry in process memory: embedded mode (one Herald, no Redis).
import type { Device, DeviceRegistry, InterestPage } from './device-registry.js';

/**
 * Each device gets an id when it is first registered, kept while it stays registered.
 * An interest lists its devices' ids in ascending order, and a page cursor is the next
 * id to read: ids only grow, so a device present the whole time is never skipped.
 */
interface Stored {
  id: number;
  device: Device;
}

class AppDevices {
  nextId = 1;
  readonly byToken = new Map<string, Stored>();
  readonly byUser = new Map<string, Set<string>>();
  /** interest → ascending ids, and id → token for them. */
  readonly interests = new Map<string, { ids: number[]; tokens: Map<number, string> }>();

  link(stored: Stored): void {
    const { token, userId, interests } = stored.device;
    let tokens = this.byUser.get(userId);
    if (!tokens) this.byUser.set(userId, (tokens = new Set()));
    tokens.add(token);
    for (const interest of interests) {
      let index = this.interests.get(interest);
      if (!index) this.interests.set(interest, (index = { ids: [], tokens: new Map() }));
      if (index.tokens.has(stored.id)) continue;
      index.ids.splice(lowerBound(index.ids, stored.id), 0, stored.id);
      index.tokens.set(stored.id, token);
    }
  }

  unlink(stored: Stored): void {
    const { token, userId, interests } = stored.device;
    const tokens = this.byUser.get(userId);
    tokens?.delete(token);
    if (tokens?.size === 0) this.byUser.delete(userId);
    for (const interest of interests) {
      const index = this.interests.get(interest);
      if (!index?.tokens.delete(stored.id)) continue;
      index.ids.splice(lowerBound(index.ids, stored.id), 1);
      if (index.ids.length === 0) this.interests.delete(interest);
    }
  }
}

export class MemoryDeviceRegistry implements DeviceRegistry {
  readonly name = 'device-registry';
  private readonly apps = new Map<string, AppDevices>();

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async put(app: string, device: Device): Promise<{ created: boolean; device: Device }> {
    const devices = this.of(app);
    const copy = clone(device);
    const existing = devices.byToken.get(device.token);
    if (existing) devices.unlink(existing);
    const stored: Stored = { id: existing?.id ?? devices.nextId++, device: copy };
    devices.byToken.set(device.token, stored);
    devices.link(stored);
    return { created: !existing, device: clone(copy) };
  }

  async get(app: string, token: string): Promise<Device | undefined> {
    const stored = this.apps.get(app)?.byToken.get(token);
    return stored && clone(stored.device);
  }

  async remove(app: string, token: string): Promise<Device | undefined> {
    const devices = this.apps.get(app);
    const stored = devices?.byToken.get(token);
    if (!devices || !stored) return undefined;
    devices.unlink(stored);
    devices.byToken.delete(token);
    return stored.device;
  }

  async listByUser(app: string, userId: string): Promise<Device[]> {
    return (await this.devicesOfUsers(app, [userId])).get(userId) ?? [];
  }

  async removeUser(app: string, userId: string): Promise<number> {
    const tokens = [...(this.apps.get(app)?.byUser.get(userId) ?? [])];
    for (const token of tokens) await this.remove(app, token);
    return tokens.length;
  }

  async devicesOfUsers(app: string, userIds: readonly string[]): Promise<Map<string, Device[]>> {
    const devices = this.apps.get(app);
    const found = new Map<string, Device[]>();
    for (const userId of userIds) {
      const tokens = devices?.byUser.get(userId);
      if (!devices || !tokens || found.has(userId)) continue;
      found.set(userId, [...tokens].flatMap((token) => {
        const stored = devices.byToken.get(token);
        return stored ? [clone(stored.device)] : [];
      }));
    }
    return found;
  }

  async interestPage(app: string, interest: string, cursor: string | undefined, count: number): Promise<InterestPage> {
    const devices = this.apps.get(app);
    const index = devices?.interests.get(interest);
    const from = cursor === undefined ? 0 : Number(cursor);
    if (!devices || !index || !Number.isSafeInteger(from)) return { devices: [], cursor: undefined };
    const start = lowerBound(index.ids, from);
    const ids = index.ids.slice(start, start + Math.max(1, count));
    const page = ids.flatMap((id) => {
      const stored = devices.byToken.get(index.tokens.get(id) ?? '');
      return stored ? [clone(stored.device)] : [];
    });
    const last = ids.at(-1);
    const more = start + ids.length < index.ids.length;
    return { devices: page, cursor: more && last !== undefined ? String(last + 1) : undefined };
  }

  async interestSize(app: string, interest: string): Promise<number> {
    return this.apps.get(app)?.interests.get(interest)?.ids.length ?? 0;
  }

  private of(app: string): AppDevices {
    let devices = this.apps.get(app);
    if (!devices) this.apps.set(app, (devices = new AppDevices()));
    return devices;
  }
}

/** Callers get copies: a record they change must not change the registry. */
function clone(device: Device): Device {
  return structuredClone(device);
}

/** The first index whose id is ≥ `id`. */
function lowerBound(ids: readonly number[], id: number): number {
  let [low, high] = [0, ids.length];
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((ids[mid] ?? 0) < id) low = mid + 1;
    else high = mid;
  }
  return low;
}
