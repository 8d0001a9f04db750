import type { Cluster, Redis } from 'ioredis';
import type { StatusScript } from './redis-status-scripts.js';

/** Ops one script call carries at most (its ARGV stays well within what Redis takes at once). */
const MAX_OPS = 512;

interface Op {
  name: string;
  keys: readonly string[];
  args: ReadonlyArray<string | number>;
  resolve(reply: unknown): void;
  reject(err: unknown): void;
}

/**
 * Gathers the status store's hot steps (create, progress, first send, record, complete)
 * that many notifications ask for within one turn of the event loop, and runs them as one
 * call of the batch script per hash tag: a worker running an envelope of a hundred
 * notifications pays one round trip and one script call per step for all of them,
 * instead of one each. Each op still gets its own reply, or the call's error.
 */
export class OpBatcher {
  private pending = new Map<string, Op[]>();
  private scheduled: NodeJS.Immediate | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly script: StatusScript,
  ) {}

  /** `tag`: the hash tag every key of the op carries (ops of one tag run together). */
  run(tag: string, name: string, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let ops = this.pending.get(tag);
      if (!ops) {
        ops = [];
        this.pending.set(tag, ops);
      }
      ops.push({ name, keys, args, resolve, reject });
      if (ops.length >= MAX_OPS) this.flushTag(tag);
      else this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = undefined;
    for (const tag of [...this.pending.keys()]) this.flushTag(tag);
  }

  private flushTag(tag: string): void {
    const ops = this.pending.get(tag);
    this.pending.delete(tag);
    if (!ops || ops.length === 0) return;
    const keys: string[] = [];
    const batch: Array<[string, number, string[]]> = [];
    for (const op of ops) {
      keys.push(...op.keys);
      // Strings, as ARGV gives them: String() is how ioredis writes a number argument.
      batch.push([op.name, op.keys.length, op.args.map(String)]);
    }
    this.script.run(this.redis, keys, [batchJson(batch)]).then(
      (reply) => {
        const replies = Array.isArray(reply) ? reply : [];
        ops.forEach((op, index) => op.resolve(replies[index]));
      },
      (err: unknown) => {
        for (const op of ops) op.reject(err);
      },
    );
  }
}

/** A surrogate without its pair: JSON.stringify escapes it, and lua-cjson refuses the escape. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The ops as one JSON argument (`[[name, key count, [args]], …]`), not several arguments
 * per op: ioredis encodes each argument on its own, which cost more than the JSON
 * (docs/performance.md). A lone surrogate becomes U+FFFD, as ioredis's UTF-8 encoding of
 * an argument makes it.
 */
export function batchJson(batch: ReadonlyArray<readonly [string, number, readonly string[]]>): string {
  const json = JSON.stringify(batch);
  if (!json.includes('\\ud')) return json;
  return JSON.stringify(batch, (_key, value: unknown) => (typeof value === 'string' ? value.replace(LONE_SURROGATE, '\ufffd') : value));
}
