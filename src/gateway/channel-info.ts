import { channelType } from './channels/channel-name.js';
import type { ChannelState } from './state/channel-state.js';

export type InfoAttribute = 'user_count' | 'subscription_count' | 'cache';

export type InfoParse = { ok: true; attributes: Set<InfoAttribute> } | { ok: false; message: string };

/** `info=user_count,subscription_count`: a comma list (or repeated parameter) of known attributes. */
export function parseInfo(raw: unknown, allowed: readonly InfoAttribute[]): InfoParse {
  const attributes = new Set<InfoAttribute>();
  if (raw === undefined || raw === '') return { ok: true, attributes };
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((value) => (typeof value === 'string' ? value.split(',') : [null]));
  for (const part of parts) {
    const name = part?.trim();
    if (name === '') continue;
    if (name === undefined || !(allowed as readonly string[]).includes(name)) {
      return { ok: false, message: `info may only list ${allowed.join(', ')}` };
    }
    attributes.add(name as InfoAttribute);
  }
  return { ok: true, attributes };
}

/**
 * What a publish reports per channel: `user_count` for presence channels,
 * `subscription_count` for the others — each only when asked for.
 */
export async function publishInfo(
  state: ChannelState,
  app: string,
  channel: string,
  attributes: ReadonlySet<InfoAttribute>,
): Promise<Record<string, number>> {
  const ref = { app, channel };
  const presence = channelType(channel).kind === 'presence';
  const info: Record<string, number> = {};
  if (presence && attributes.has('user_count')) info.user_count = await state.userCount(ref);
  if (!presence && attributes.has('subscription_count')) info.subscription_count = await state.subscriptionCount(ref);
  return info;
}
