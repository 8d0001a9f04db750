import fc from 'fast-check';

export type JsonObject = Record<string, unknown>;
export type PathPart = string | number;

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
export const deviceToken = hex(64);

const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 30 }),
  fc.constantFrom(null, true, -1, 0, 1.5, 11, 1e20, '', ' ', 'AbC', '<ab cd>', 'xyz', '123', [], {}, 'pusher:x', '2026-13-40T99:00:00Z'),
);

/** A valid notification v1 for `app`: APNs part, realtime part, or both. */
export function validNotification(app: string): fc.Arbitrary<JsonObject> {
  const apns = fc.record(
    {
      tokens: fc.array(deviceToken, { minLength: 1, maxLength: 8 }),
      pushType: fc.constantFrom('alert', 'background'),
      priority: fc.constantFrom(5, 10),
      expiration: fc.integer({ min: 0, max: 2_000_000_000 }),
      collapseId: fc.stringMatching(/^[a-z0-9-]{1,32}$/),
      payload: fc.record({ aps: fc.record({ alert: fc.record({ title: fc.string({ maxLength: 20 }), body: fc.string({ maxLength: 60 }) }), badge: fc.nat(99) }, { requiredKeys: ['alert'] }), orderId: fc.nat() }, { requiredKeys: ['aps'] }),
    },
    { requiredKeys: ['tokens', 'payload'] },
  );
  const realtime = fc.record(
    {
      channels: fc.array(fc.stringMatching(/^(private-|presence-)?[a-z0-9-]{1,20}$/), { minLength: 1, maxLength: 5 }),
      event: fc.stringMatching(/^[a-z][a-z.-]{0,20}$/),
      data: fc.oneof(fc.string({ maxLength: 50 }), fc.record({ orderId: fc.nat() })),
      socketId: fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}.${b}`),
    },
    { requiredKeys: ['channels', 'event', 'data'] },
  );
  const parts = fc.oneof(
    apns.map((a) => ({ apns: a })),
    realtime.map((r) => ({ realtime: r })),
    fc.tuple(apns, realtime).map(([a, r]) => ({ apns: a, realtime: r })),
  );
  return fc
    .tuple(parts, fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,40}$/), { nil: undefined }), fc.option(fc.date({ min: new Date('2020-01-01'), max: new Date(Date.now() + 29 * 86_400_000), noInvalidDate: true }), { nil: undefined }))
    .map(([p, id, sendAt]) => ({ v: 1, app, ...(id === undefined ? {} : { id }), ...p, ...(sendAt === undefined ? {} : { sendAt: sendAt.toISOString() }) }));
}

/** Every path to a value inside `root` (objects and arrays), deepest last. */
export function pathsOf(root: unknown, prefix: PathPart[] = []): PathPart[][] {
  if (root === null || typeof root !== 'object') return [prefix];
  const entries: Array<[PathPart, unknown]> = Array.isArray(root) ? root.map((v, i) => [i, v]) : Object.entries(root);
  return [prefix, ...entries.flatMap(([key, value]) => pathsOf(value, [...prefix, key]))];
}

export interface Mutation {
  input: JsonObject;
  /** Where the one change was made: a replaced or removed value, or an added key. */
  at: PathPart[];
  kind: 'replace' | 'remove' | 'add';
}

/**
 * A valid notification with exactly one change somewhere inside it. Added keys avoid
 * `.` and `[`: the validator's dotted paths cannot tell `a.b` (nested) from a key "a.b".
 */
export function mutatedNotification(app: string): fc.Arbitrary<Mutation> {
  return fc.tuple(validNotification(app), fc.nat(), junk, fc.constantFrom('replace', 'replace', 'remove', 'add'), fc.stringMatching(/^[A-Za-z0-9_ -]{1,8}$/)).map(([valid, pick, value, kind, newKey]) => {
    const input = structuredClone(valid);
    const candidates = pathsOf(input).filter((p) => p.length > 0);
    const at = candidates[pick % candidates.length] ?? ['v'];
    let parent: Record<PathPart, unknown> = input;
    for (const part of at.slice(0, -1)) parent = parent[part] as Record<PathPart, unknown>;
    const last = at[at.length - 1] as PathPart;
    if (kind === 'add' && parent[last] !== null && typeof parent[last] === 'object' && !Array.isArray(parent[last])) {
      const target = parent[last] as JsonObject;
      const key = `x${newKey}`;
      if (!(key in target)) {
        target[key] = value;
        return { input, at: [...at, key], kind: 'add' };
      }
    }
    if (kind === 'remove' && !Array.isArray(parent)) {
      delete parent[last];
      return { input, at, kind: 'remove' };
    }
    parent[last] = value;
    return { input, at, kind: 'replace' };
  });
}

/** `apns.tokens[3]` → ['apns', 'tokens', 3]; a quoted segment `a["b.c"]` → ['a', 'b.c']. */
export function parsePath(path: string): PathPart[] {
  if (path === '') return [];
  return [...path.matchAll(/\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.[\]]+)/g)].map((m) =>
    m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : m[2] !== undefined ? Number(m[2]) : (m[3] ?? ''),
  );
}
