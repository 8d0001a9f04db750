// How a device is laid out in Redis: its token field, its index part (read by the scripts) and its data part.
import type { Device, DevicePlatform } from './device-registry.js';

/**
 * The directory field of a token: `h` + the raw bytes of a hex token (APNs: 32 bytes
 * instead of 64 characters), `t` + the token otherwise.
 */
export function tokenField(token: string): Buffer {
  return /^(?:[0-9a-f]{2})+$/.test(token) ? Buffer.concat([Buffer.from('h'), Buffer.from(token, 'hex')]) : Buffer.from(`t${token}`, 'utf8');
}

function tokenOfField(field: Buffer): string {
  const body = field.subarray(1);
  return field[0] === 0x68 ? body.toString('hex') : body.toString('utf8');
}

/** `<userId>|<interest> <interest>…`: what the scripts need to unlink a device. Neither part may hold `|` or a space. */
export function indexPart(device: Device): string {
  return `${device.userId}|${device.interests.join(' ')}`;
}

const platforms: readonly DevicePlatform[] = ['apns', 'fcm', 'web'];
const environments = [undefined, 'production', 'sandbox'] as const;

/**
 * The data part: u16 length + token field (the scripts read it to unlink the token),
 * a byte of platform and environment, the registration time (u48 ms), u8 length +
 * topic, then the Web Push subscription as JSON when there is one.
 */
export function dataPart(device: Device): Buffer {
  const field = tokenField(device.token);
  const topic = Buffer.from(device.topic ?? '', 'utf8');
  const head = Buffer.alloc(2 + field.length + 1 + 6 + 1);
  head.writeUInt16BE(field.length, 0);
  field.copy(head, 2);
  const at = 2 + field.length;
  head.writeUInt8(platforms.indexOf(device.platform) | (environments.indexOf(device.environment) << 2), at);
  head.writeUIntBE(device.updatedAt, at + 1, 6);
  head.writeUInt8(topic.length, at + 7);
  const subscription = device.subscription ? Buffer.from(JSON.stringify(device.subscription), 'utf8') : Buffer.alloc(0);
  return Buffer.concat([head, topic, subscription]);
}

/** The device stored as `index` and `data` (both as Redis returned them), or undefined when either is missing or unreadable. */
export function decodeDevice(index: Buffer | null | undefined, data: Buffer | null | undefined): Device | undefined {
  if (!index || !data || data.length < 2) return undefined;
  const text = index.toString('utf8');
  const bar = text.indexOf('|');
  if (bar < 0) return undefined;
  const fieldLength = data.readUInt16BE(0);
  let at = 2 + fieldLength;
  if (data.length < at + 8) return undefined;
  const flags = data.readUInt8(at);
  const platform = platforms[flags & 3];
  const environment = environments[(flags >> 2) & 3];
  const updatedAt = data.readUIntBE(at + 1, 6);
  const topicLength = data.readUInt8(at + 7);
  at += 8;
  const topic = data.subarray(at, at + topicLength).toString('utf8');
  const rest = data.subarray(at + topicLength);
  if (!platform) return undefined;
  const interests = text.slice(bar + 1);
  return {
    token: tokenOfField(data.subarray(2, 2 + fieldLength)),
    userId: text.slice(0, bar),
    platform,
    interests: interests === '' ? [] : interests.split(' '),
    ...(topic === '' ? {} : { topic }),
    ...(environment === undefined ? {} : { environment }),
    ...(rest.length > 0 ? { subscription: JSON.parse(rest.toString('utf8')) as Device['subscription'] & object } : {}),
    updatedAt,
  };
}
