import type { ChannelRef } from '../channel-state.js';

/**
 * What a node holds in shared state, one set member per item, so whoever cleans
 * up after the node (a surviving node, or the node itself after Redis came back)
 * knows exactly what to undo. A record is written before the change it describes
 * and removed after the change is undone, so a crash in between leaves an extra
 * record (undoing it is a no-op), never an unrecorded change.
 *
 * App ids, channel names and socket ids never contain a tab.
 */
export type NodeRecord =
  | { readonly type: 'connection'; readonly app: string; readonly socketId: string }
  | { readonly type: 'membership'; readonly ref: ChannelRef; readonly socketId: string };

export function connectionRecord(app: string, socketId: string): string {
  return `c\t${app}\t${socketId}`;
}

export function membershipRecord(ref: ChannelRef, socketId: string): string {
  return `m\t${ref.app}\t${ref.channel}\t${socketId}`;
}

/** Undefined for anything this version did not write (skipped and dropped by the caller). */
export function parseRecord(text: string): NodeRecord | undefined {
  const parts = text.split('\t');
  if (parts[0] === 'c' && parts.length === 3 && parts[1] && parts[2]) return { type: 'connection', app: parts[1], socketId: parts[2] };
  if (parts[0] === 'm' && parts.length === 4 && parts[1] && parts[2] && parts[3]) {
    return { type: 'membership', ref: { app: parts[1], channel: parts[2] }, socketId: parts[3] };
  }
  return undefined;
}
