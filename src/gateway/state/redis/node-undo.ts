import type { StateChange } from '../channel-state.js';
import type { RedisChannelStore } from './channel-records.js';
import type { NodeLock } from './node-lock.js';
import { parseRecord } from './node-records.js';

const BATCH = 200;

export interface UndoOptions {
  store: RedisChannelStore;
  lock: NodeLock;
  /** The node whose records are undone (its lock is held by the caller). */
  nodeId: string;
  /** Records to leave alone (a re-syncing node keeps what its live sockets hold). */
  keep?: (record: string) => boolean;
  /** Each membership that really ended, in the order undone. */
  onChange: (change: StateChange) => void;
}

/**
 * Undoes a node's records batch by batch, removing each record after its change is
 * undone. Safe to interrupt: whatever is left is undone by the next holder of the
 * lock, and undoing twice is a no-op. Returns how many records were undone; throws
 * when the lock was lost (someone else carries on).
 */
export async function undoNodeRecords(o: UndoOptions): Promise<number> {
  const recordsKey = o.store.keys.nodeRecords(o.nodeId);
  let cursor = '0';
  let undone = 0;
  do {
    const [next, batch] = await o.store.client.sscan(recordsKey, cursor, 'COUNT', BATCH);
    cursor = next;
    const todo = batch.filter((record) => !o.keep?.(record));
    const changes = await Promise.all(
      todo.map(async (text) => {
        const record = parseRecord(text);
        const change = record ? await o.store.undo(record) : undefined;
        await o.store.removeRecord(o.nodeId, text);
        return change;
      }),
    );
    for (const change of changes) if (change) o.onChange(change);
    undone += todo.length;
    if (todo.length > 0 && !(await o.lock.extend(o.nodeId))) throw new Error(`lost the clean-up lock of node ${o.nodeId}`);
  } while (cursor !== '0');
  return undone;
}
