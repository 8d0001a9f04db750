import type { z } from 'zod';
import { configSchema } from './schema.js';

/** How an environment variable's text becomes the config value the schema then validates. */
export type EnvKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'string-list' | 'host-port-list';

/** A HERALD_* environment variable and the config key it overrides. */
export interface EnvBinding {
  env: string;
  path: readonly string[];
  kind: EnvKind;
  /** Older, shorter names that set the same key (documented; giving both is an error). */
  aliases: readonly string[];
  /** Secrets may also come from `${env}_FILE`. */
  secret: boolean;
  /** The schema default as text for the docs, or undefined when the key has none. */
  defaultText: string | undefined;
  /** Enum members, for kind 'enum'. */
  values?: readonly string[];
}

/** The short names that predate the generated ones: kept so existing deployments keep working. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  'server.host': ['HERALD_HOST'],
  'server.port': ['HERALD_PORT'],
  'server.shutdownGraceMs': ['HERALD_SHUTDOWN_GRACE_MS'],
};

/** Keys with no variable: apps[] has the single-app HERALD_APP_* shortcut instead. */
const SKIPPED_TOP_LEVEL = new Set(['apps']);

/** A key whose value is a credential (a Redis URL carries its password) may be read from `_FILE`. */
const SECRET_KEY = /secret|passphrase|password|token|^url$/i;

/** The single-app shortcut: all three (secret possibly as _FILE) or none. */
export const appEnv = { id: 'HERALD_APP_ID', key: 'HERALD_APP_KEY', secret: 'HERALD_APP_SECRET' } as const;

/** `server.requestTimeoutMs` → `HERALD_SERVER_REQUEST_TIMEOUT_MS`. */
export function envNameOf(path: readonly string[]): string {
  return `HERALD_${path.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

type Schema = z.core.$ZodType;

/**
 * Every scalar key of the schema (and lists of them) gets a variable, derived from the schema
 * itself so a key added to schema.ts is settable from the environment without touching this file.
 */
export function deriveEnvBindings(root: Schema = configSchema): EnvBinding[] {
  const bindings: EnvBinding[] = [];
  const walk = (schema: Schema, path: string[], defaultValue: unknown): void => {
    const { def } = schema._zod;
    switch (def.type) {
      case 'default':
      case 'prefault': {
        const inner = def as z.core.$ZodDefaultDef;
        walk(inner.innerType, path, inner.defaultValue);
        return;
      }
      case 'optional':
      case 'nullable':
      case 'readonly':
        walk((def as z.core.$ZodOptionalDef).innerType, path, defaultValue);
        return;
      case 'pipe':
        walk((def as z.core.$ZodPipeDef).in, path, defaultValue);
        return;
      case 'object': {
        for (const [key, child] of Object.entries((def as z.core.$ZodObjectDef).shape)) {
          if (path.length === 0 && SKIPPED_TOP_LEVEL.has(key)) continue;
          walk(child, [...path, key], undefined);
        }
        return;
      }
      default: {
        const kind = scalarKind(schema);
        if (kind === undefined) return;
        const key = path.join('.');
        const last = path[path.length - 1] ?? '';
        bindings.push({
          env: envNameOf(path),
          path,
          kind,
          aliases: ALIASES[key] ?? [],
          secret: SECRET_KEY.test(last) && !last.endsWith('File'),
          defaultText: defaultValue === undefined ? undefined : describeDefault(defaultValue, kind),
          ...(kind === 'enum' ? { values: (schema as unknown as { options: string[] }).options } : {}),
        });
      }
    }
  };
  walk(root, [], undefined);
  // `token` beside `tokenFile`: the config's own file key is the way to read it from a file,
  // and HERALD_X_TOKEN_FILE is that key's variable, not the secret's `_FILE` form.
  const keys = new Set(bindings.map((binding) => binding.path.join('.')));
  return bindings.map((binding) => (binding.secret && keys.has(`${binding.path.join('.')}File`) ? { ...binding, secret: false } : binding));
}

function scalarKind(schema: Schema): EnvKind | undefined {
  const { def } = schema._zod;
  switch (def.type) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return 'enum';
    case 'number':
      return (schema as unknown as { isInt?: boolean }).isInt ? 'integer' : 'number';
    case 'array': {
      const element = unwrap((def as z.core.$ZodArrayDef).element);
      if (element._zod.def.type === 'string') return 'string-list';
      if (element._zod.def.type === 'object') {
        const keys = Object.keys((element._zod.def as z.core.$ZodObjectDef).shape).sort().join(',');
        if (keys === 'host,port') return 'host-port-list';
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function unwrap(schema: Schema): Schema {
  const { def } = schema._zod;
  if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault') return unwrap((def as z.core.$ZodOptionalDef).innerType);
  return schema;
}

function describeDefault(value: unknown, kind: EnvKind): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : kind === 'host-port-list' ? value.map((v: { host: string; port: number }) => `${v.host}:${v.port}`).join(',') : value.join(',');
  return String(value);
}

export const envBindings: readonly EnvBinding[] = deriveEnvBindings();

export type EnvParse = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Turns a variable's text into the value its key takes. Anything the schema can judge
 * (ranges, enum members, URL shape) is left to it, so file and env get the same rules.
 */
export function parseEnvValue(binding: EnvBinding, text: string): EnvParse {
  const trimmed = text.trim();
  switch (binding.kind) {
    case 'string':
    case 'enum':
      return { ok: true, value: text };
    case 'integer':
    case 'number': {
      const pattern = binding.kind === 'integer' ? /^-?\d+$/ : /^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i;
      if (!pattern.test(trimmed)) return { ok: false, error: `must be ${binding.kind === 'integer' ? 'an integer' : 'a number'}` };
      return { ok: true, value: Number(trimmed) };
    }
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true' || lower === '1') return { ok: true, value: true };
      if (lower === 'false' || lower === '0') return { ok: true, value: false };
      return { ok: false, error: 'must be true or false (or 1 / 0)' };
    }
    case 'string-list':
      return { ok: true, value: splitList(trimmed) };
    case 'host-port-list': {
      const nodes: Array<{ host: string; port: number }> = [];
      for (const item of splitList(trimmed)) {
        // host:port, or [v6-address]:port
        const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(item);
        if (!match) return { ok: false, error: 'must be a comma-separated list of host:port (IPv6 as [::1]:26379)' };
        nodes.push({ host: (match[1] ?? match[2]) as string, port: Number(match[3]) });
      }
      return { ok: true, value: nodes };
    }
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
