/**
 * Checks every key of the `aps` dictionary against Apple's documented types, so a typo
 * or a wrong type is reported to the sender instead of being silently ignored by iOS.
 * Unknown keys are refused for the same reason; custom data belongs beside `aps`.
 */
type Check = (value: unknown, path: string) => string | undefined;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const string: Check = (v, p) => (typeof v === 'string' ? undefined : `${p} must be a string`);
const stringArray: Check = (v, p) =>
  Array.isArray(v) && v.every((item) => typeof item === 'string') ? undefined : `${p} must be an array of strings`;
const one: Check = (v, p) => (v === 1 ? undefined : `${p} must be 1 (omit the key otherwise)`);
const nonNegativeInteger: Check = (v, p) =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : `${p} must be a non-negative integer`;
const unitInterval: Check = (v, p) =>
  typeof v === 'number' && v >= 0 && v <= 1 ? undefined : `${p} must be a number from 0 to 1`;
const object: Check = (v, p) => (isRecord(v) ? undefined : `${p} must be an object`);
const oneOf =
  (...values: readonly string[]): Check =>
  (v, p) =>
    typeof v === 'string' && values.includes(v) ? undefined : `${p} must be one of ${values.join(', ')}`;

function dictionary(keys: Record<string, Check>): Check {
  return (value, path) => {
    if (!isRecord(value)) return `${path} must be an object`;
    for (const [key, child] of Object.entries(value)) {
      const check = keys[key];
      if (!check) return `${path} has unknown key '${key}'`;
      const problem = check(child, `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  };
}

const alertDictionary = dictionary({
  title: string,
  subtitle: string,
  body: string,
  'launch-image': string,
  'title-loc-key': string,
  'title-loc-args': stringArray,
  'subtitle-loc-key': string,
  'subtitle-loc-args': stringArray,
  'loc-key': string,
  'loc-args': stringArray,
});

const soundDictionary = dictionary({
  critical: (v, p) => (v === 0 || v === 1 ? undefined : `${p} must be 0 or 1`),
  name: string,
  volume: unitInterval,
});

const apsKeys: Record<string, Check> = {
  alert: (v, p) => (typeof v === 'string' ? undefined : alertDictionary(v, p)),
  badge: nonNegativeInteger,
  sound: (v, p) => (typeof v === 'string' ? undefined : soundDictionary(v, p)),
  'thread-id': string,
  category: string,
  'content-available': one,
  'mutable-content': one,
  'target-content-id': string,
  'interruption-level': oneOf('passive', 'active', 'time-sensitive', 'critical'),
  'relevance-score': unitInterval,
  'filter-criteria': string,
  'stale-date': nonNegativeInteger,
  'content-state': object,
  timestamp: nonNegativeInteger,
  event: oneOf('start', 'update', 'end'),
  'dismissal-date': nonNegativeInteger,
  'attributes-type': string,
  attributes: object,
  // Widget pushes (WidgetKit) carry only this flag; Apple documents it with the widgets push type.
  'content-changed': (v, p) => (v === true ? undefined : `${p} must be true`),
};

const apsDictionary = dictionary(apsKeys);

/** The first problem with `aps` for `pushType`, or undefined when it is acceptable. */
export function apsProblem(aps: unknown, pushType: string): string | undefined {
  const problem = apsDictionary(aps, 'aps');
  if (problem) return problem;
  const dict = aps as Record<string, unknown>;
  if (pushType === 'background') {
    if (dict['content-available'] !== 1) return 'a background push needs aps.content-available = 1';
    const loud = ['alert', 'badge', 'sound'].filter((key) => key in dict);
    if (loud.length > 0) return `a background push must not carry aps.${loud.join(', aps.')}`;
  }
  if (pushType === 'liveactivity') {
    for (const key of ['event', 'timestamp'] as const) {
      if (!(key in dict)) return `a liveactivity push needs aps.${key}`;
    }
    if (dict.event === 'start') {
      for (const key of ['attributes-type', 'attributes', 'content-state'] as const) {
        if (!(key in dict)) return `a liveactivity start event needs aps.${key}`;
      }
    }
    if (dict.event === 'update' && !('content-state' in dict)) return 'a liveactivity update event needs aps.content-state';
  }
  return undefined;
}
