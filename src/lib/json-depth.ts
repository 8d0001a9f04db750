/**
 * Nesting limits for caller JSON. JSON.parse copes with any depth, but JSON.stringify
 * (and any recursive walk) throws RangeError somewhere past a few thousand levels, far
 * from the handler that took the input in. Both checks here are iterative, so they
 * cannot overflow the stack themselves, and they stop at the first value too deep.
 */
import { formatPath } from './format-path.js';

/** Objects and arrays inside one another, the outermost counting 1. A fixed contract limit. */
export const MAX_JSON_DEPTH = 64;

/** Where the first value nested deeper than the limit is: `realtime.data.a[0]`, '' for the root. */
export interface TooDeep {
  readonly path: string;
}

const MAX_PATH_CHARS = 256;

interface RawFrame {
  readonly array: boolean;
  index: number;
  keyStart: number;
  keyEnd: number;
  expectKey: boolean;
}

/**
 * Scans raw JSON bytes for bracket depth before anything parses them (quotes and
 * escapes respected). Not a validator: broken JSON is left for JSON.parse to report.
 */
export function rawJsonTooDeep(raw: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): TooDeep | undefined {
  const stack: RawFrame[] = [];
  let inString = false;
  let escaped = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) {
        inString = false;
        const top = stack[stack.length - 1];
        if (top && !top.array && top.expectKey && top.keyEnd === -1) top.keyEnd = i;
      }
      continue;
    }
    switch (c) {
      case 0x22: {
        inString = true;
        const top = stack[stack.length - 1];
        if (top && !top.array && top.expectKey) {
          top.keyStart = i;
          top.keyEnd = -1;
        }
        break;
      }
      case 0x7b:
      case 0x5b:
        if (stack.length >= maxDepth) return { path: rawPath(raw, stack) };
        stack.push({ array: c === 0x5b, index: 0, keyStart: -1, keyEnd: -1, expectKey: c === 0x7b });
        break;
      case 0x7d:
      case 0x5d:
        stack.pop();
        break;
      case 0x2c: {
        const top = stack[stack.length - 1];
        if (top?.array) top.index += 1;
        else if (top) top.expectKey = true;
        break;
      }
      case 0x3a: {
        const top = stack[stack.length - 1];
        if (top && !top.array) top.expectKey = false;
        break;
      }
    }
  }
  return undefined;
}

function rawPath(raw: Uint8Array, stack: readonly RawFrame[]): string {
  const parts: Array<string | number> = stack.map((frame) => {
    if (frame.array) return frame.index;
    const slice = Buffer.from(raw.buffer, raw.byteOffset + frame.keyStart, Math.max(0, frame.keyEnd - frame.keyStart + 1)).toString('utf8');
    try {
      return String(JSON.parse(slice));
    } catch {
      return slice;
    }
  });
  return formatJsonPath(parts);
}

/**
 * The same limit on a value already parsed (job data read back from a queue, an
 * object handed over in-process). Visits each object and array once, without recursion.
 */
export function valueTooDeep(value: unknown, maxDepth: number = MAX_JSON_DEPTH): TooDeep | undefined {
  interface Visit {
    readonly value: object;
    readonly depth: number;
    readonly parent: Visit | undefined;
    readonly key: string | number;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const pending: Visit[] = [{ value, depth: 1, parent: undefined, key: '' }];
  for (let visit = pending.pop(); visit; visit = pending.pop()) {
    const parent = visit;
    const keys: ReadonlyArray<string | number> = Array.isArray(parent.value) ? [] : Object.keys(parent.value);
    const count = Array.isArray(parent.value) ? parent.value.length : keys.length;
    for (let i = 0; i < count; i++) {
      const key = Array.isArray(parent.value) ? i : (keys[i] as string);
      const child: unknown = (parent.value as Record<string | number, unknown>)[key];
      if (typeof child !== 'object' || child === null) continue;
      const next: Visit = { value: child, depth: parent.depth + 1, parent, key };
      if (next.depth > maxDepth) return { path: visitPath(next) };
      pending.push(next);
    }
  }
  return undefined;

  function visitPath(last: Visit): string {
    const parts: Array<string | number> = [];
    for (let v: Visit | undefined = last; v?.parent; v = v.parent) parts.push(v.key);
    return formatJsonPath(parts.reverse());
  }
}

/** `['realtime', 'data', 0]` → `realtime.data[0]`, shortened in the middle past 256 characters. */
export function formatJsonPath(parts: ReadonlyArray<string | number>): string {
  const out = formatPath(parts);
  if (out.length <= MAX_PATH_CHARS) return out;
  return `${out.slice(0, MAX_PATH_CHARS / 2)}…${out.slice(-(MAX_PATH_CHARS / 2 - 1))}`;
}
