import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { HeraldConfig } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/redact.js';
import { HeraldError } from '../../src/errors.js';
import { leakedSecrets, plantedSecret, secretsIn } from './fuzz-secrets.js';
import { fuzzSeed } from './fuzz-seed.js';

// Configuration is the first boundary: whatever a file or the environment holds,
// loadConfig returns a valid frozen config or throws a HeraldError whose message
// names the problem — never another exception, never a secret value.

const RUNS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'herald-fuzz-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: -1_000_000, max: 10_000_000 }),
  fc.constantFrom(null, true, false, -1, 0, 1.5, 65_536, Number.MAX_SAFE_INTEGER, '', ' ', '0x10', '1e3', '__proto__', [], {}),
);
const optional = { requiredKeys: [] as never[] };
const name = fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{1,20}$/);
const file = fc.constantFrom('/nonexistent/cert.pem', '/nonexistent/key.p8', 'relative/file');
const upperId = fc.stringMatching(/^[A-Z0-9]{10}$/);

// Valid shapes first: each input is a valid configuration, the same with a few values
// replaced or removed, or its text with a few characters edited — so both the accepting
// and the refusing paths are exercised deeply, not just the first type check.
const apns = fc.oneof(
  fc.record({ topic: fc.constant('com.example.app'), cert: file, key: file, passphrase: plantedSecret(), production: fc.boolean() }, { requiredKeys: ['topic', 'cert', 'key'] }),
  fc.record({ topic: fc.constant('com.example.app'), pfx: file, passphrase: plantedSecret() }, { requiredKeys: ['topic', 'pfx'] }),
  fc.record({ topic: fc.constant('com.example.app'), token: fc.record({ key: file, keyId: upperId, teamId: upperId }), endpoint: fc.record({ host: fc.constant('127.0.0.1'), port: fc.integer({ min: 1, max: 65_535 }) }) }, { requiredKeys: ['topic', 'token'] }),
);
const webhook = fc.record({
  url: fc.webUrl({ validSchemes: ['http', 'https'] }),
  events: fc.array(fc.constantFrom('channel_occupied', 'member_added', 'apns_token_invalid', 'notification_failed'), { minLength: 1, maxLength: 3 }),
  headers: fc.dictionary(fc.constantFrom('Authorization', 'X-Api-Key'), plantedSecret(), { maxKeys: 2 }),
});
const app = fc.record(
  {
    id: name,
    key: name,
    secret: plantedSecret(),
    enabled: fc.boolean(),
    limits: fc.record({ maxConnections: fc.integer({ min: -1, max: 1000 }), maxEventPayloadKb: fc.integer({ min: 1, max: 100 }) }, optional),
    webhooks: fc.array(webhook, { maxLength: 1 }),
    allowedOrigins: fc.array(fc.webUrl(), { maxLength: 1 }),
    apns,
  },
  { requiredKeys: ['id', 'key', 'secret'] },
);
const apps = fc.array(app, { minLength: 1, maxLength: 2 }).map((list) => list.map((a, i) => ({ ...a, id: `${a.id}${i}`, key: `${a.key}${i}` })));
const redisUrl = plantedSecret().map((password) => `redis://user:${password}@127.0.0.1:6379/0`);

const validConfig = fc.record(
  {
    server: fc.record({ host: fc.constantFrom('0.0.0.0', '127.0.0.1'), port: fc.integer({ min: 0, max: 65_535 }), drainDelayMs: fc.integer({ min: 0, max: 10_000 }), requestTimeoutMs: fc.integer({ min: 10_000, max: 60_000 }) }, optional),
    metrics: fc.record({ enabled: fc.boolean(), port: fc.integer({ min: 0, max: 65_535 }) }, optional),
    redis: fc.record({ url: redisUrl, mode: fc.constant('single') }, optional),
    queue: fc.record({ prefix: fc.constantFrom('herald', '{herald}'), concurrency: fc.integer({ min: 1, max: 100 }) }, optional),
    log: fc.record({ level: fc.constantFrom('info', 'debug'), format: fc.constantFrom('json', 'pretty') }, optional),
    apps,
  },
  optional,
);

type Json = Record<string, unknown>;

/** Every path to a value inside `root`, so a mutation can hit any depth. */
function paths(root: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (root === null || typeof root !== 'object') return [prefix];
  const entries = Array.isArray(root) ? root.map((v, i) => [i, v] as const) : Object.entries(root);
  return [prefix, ...entries.flatMap(([key, value]) => paths(value, [...prefix, key]))];
}

function mutate(value: Json, at: number, replacement: unknown, remove: boolean): Json {
  const copy = structuredClone(value);
  const all = paths(copy).filter((p) => p.length > 0);
  const target = all[at % Math.max(1, all.length)];
  if (!target) return { ...copy, unexpected: replacement };
  let node: Json = copy;
  for (const part of target.slice(0, -1)) node = node[part as string] as Json;
  const last = target[target.length - 1] as string;
  if (remove && !Array.isArray(node)) delete node[last];
  else node[last] = replacement;
  return copy;
}

const mutatedConfig = fc
  .tuple(validConfig, fc.array(fc.tuple(fc.nat(), junk, fc.boolean()), { minLength: 1, maxLength: 3 }))
  .map(([value, edits]) => edits.reduce<Json>((acc, [at, replacement, remove]) => mutate(acc, at, replacement, remove), value));

const configFile = fc
  .tuple(
    fc.oneof({ weight: 2, arbitrary: validConfig }, { weight: 5, arbitrary: mutatedConfig }),
    fc.constantFrom('yaml', 'json'),
    fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 3 }) }),
  )
  .map(([value, format, edits]) => {
    let text = format === 'yaml' ? stringify(value) : JSON.stringify(value);
    for (const [at, remove, insert] of edits) {
      const index = text.length === 0 ? 0 : at % text.length;
      text = text.slice(0, index) + insert + text.slice(index + remove);
    }
    return { value, format, text, edited: edits.length > 0 };
  });

/**
 * The secrets a file holds: a text edit can cut a planted secret short and move its tail
 * into a field that is not secret (an `@` typed into a Redis URL's password turns the rest
 * into the host), so an edited file's secrets are read from what it parses to.
 */
function secretsOfFile({ value, format, text, edited }: { value: unknown; format: string; text: string; edited: boolean }): Set<string> {
  if (!edited) return secretsIn(value);
  try {
    return secretsOfParsed(format === 'json' ? JSON.parse(text) : parse(text, { maxAliasCount: 100, logLevel: 'silent' }));
  } catch {
    return secretsIn(value);
  }
}

/**
 * As `secretsIn`, but a Redis URL's secrets are those of the parts Herald treats as
 * secret (its user-info, up to the last `@`, its path and query); its host is shown, and
 * an edit that deleted the `@` leaves a planted password in the host, where nothing can
 * tell it from a host name. A URL that does not parse keeps all its secrets.
 */
function secretsOfParsed(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string' && /^rediss?:\/\//i.test(value) && URL.canParse(value)) {
    const url = new URL(value);
    const at = value.lastIndexOf('@');
    return secretsIn([at < 0 ? '' : value.slice(0, at), url.pathname, url.search], found);
  }
  if (Array.isArray(value)) for (const item of value) secretsOfParsed(item, found);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) secretsOfParsed(item, found);
  else secretsIn(value, found);
  return found;
}

function checkOutcome(load: () => HeraldConfig, secrets: Set<string>, input: string): 'valid' | 'refused' {
  let config: HeraldConfig;
  try {
    config = load();
  } catch (err) {
    assert.ok(err instanceof HeraldError, `not a HeraldError: ${String(err)}\ninput: ${input}`);
    assert.match(err.code, /^HERALD_CONFIG_(INVALID|UNREADABLE)$/);
    assert.ok(err.message.length > 10, 'a message that names the problem');
    assert.deepEqual(leakedSecrets(err.message, secrets), [], `secret echoed in: ${err.message}`);
    return 'refused';
  }
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.apps));
  assert.ok(config.apps.length >= 1);
  for (const app of config.apps) assert.ok(app.secret.length >= 8);
  assert.ok(config.server.port >= 0 && config.server.port <= 65_535);
  assert.deepEqual(leakedSecrets(JSON.stringify(redactConfig(config)), secrets), [], 'secret in the redacted config');
  return 'valid';
}

describe('fuzz: configuration', () => {
  it(`${RUNS} generated config files: a valid frozen config or a HeraldError naming the problem, never a secret`, () => {
    let index = 0;
    const outcomes = { valid: 0, refused: 0 };
    fc.assert(
      fc.property(configFile, (input) => {
        const file = join(dir, `config-${index++ % 8}.${input.format}`);
        writeFileSync(file, input.text);
        outcomes[checkOutcome(() => loadConfig({ file, env: {} }), secretsOfFile(input), input.text)]++;
      }),
      { numRuns: RUNS, seed: fuzzSeed, endOnFailure: true, includeErrorInReport: true },
    );
    console.log(`config files: ${RUNS} inputs (seed ${fuzzSeed}): ${outcomes.valid} valid, ${outcomes.refused} refused`);
    assert.ok(outcomes.valid > 0 && outcomes.refused > 0, 'the generator reaches both outcomes');
  });

  it(`${RUNS} generated environments: the same guarantees for HERALD_* variables`, () => {
    const envJunk = junk.map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')));
    const validEnv = fc.record(
      {
        HERALD_HOST: fc.constantFrom('0.0.0.0', '127.0.0.1', '::1'),
        HERALD_PORT: fc.integer({ min: 0, max: 65_535 }).map(String),
        HERALD_METRICS_PORT: fc.integer({ min: 0, max: 65_535 }).map(String),
        HERALD_REDIS_URL: redisUrl,
        HERALD_QUEUE_CONCURRENCY: fc.integer({ min: 1, max: 1000 }).map(String),
        HERALD_LOG_LEVEL: fc.constantFrom('debug', 'warn', 'info'),
        HERALD_LOG_FORMAT: fc.constantFrom('json', 'pretty'),
        HERALD_SHUTDOWN_GRACE_MS: fc.integer({ min: 1, max: 60_000 }).map(String),
        HERALD_APP_ID: name,
        HERALD_APP_KEY: name,
        HERALD_APP_SECRET: plantedSecret(),
      },
      optional,
    );
    const variable = fc.constantFrom('HERALD_HOST', 'HERALD_PORT', 'HERALD_METRICS_PORT', 'HERALD_REDIS_URL', 'HERALD_QUEUE_CONCURRENCY', 'HERALD_LOG_LEVEL', 'HERALD_APP_ID', 'HERALD_APP_SECRET', 'HERALD_APP_SECRET_FILE', 'HERALD_REDIS_URL_FILE');
    const env = fc
      .tuple(validEnv, fc.array(fc.tuple(variable, envJunk), { maxLength: 2 }))
      .map(([valid, edits]) => edits.reduce<Record<string, string>>((acc, [key, value]) => ({ ...acc, [key]: value }), { ...valid }));
    const outcomes = { valid: 0, refused: 0 };
    fc.assert(
      fc.property(env, (vars) => {
        outcomes[checkOutcome(() => loadConfig({ env: vars }), secretsIn(vars), JSON.stringify(vars))]++;
      }),
      { numRuns: RUNS, seed: fuzzSeed, endOnFailure: true, includeErrorInReport: true },
    );
    console.log(`environments: ${RUNS} inputs (seed ${fuzzSeed}): ${outcomes.valid} valid, ${outcomes.refused} refused`);
    assert.ok(outcomes.valid > 0 && outcomes.refused > 0, 'the generator reaches both outcomes');
  });
});

describe('configuration errors found by the fuzzer never quote a secret', () => {
  const secret = 'sEcReT0123456789abcdef';
  const refusal = (text: string, extension = 'yaml'): string => {
    const file = join(dir, `regression.${extension}`);
    writeFileSync(file, text);
    try {
      loadConfig({ file, env: {} });
    } catch (err) {
      assert.ok(err instanceof HeraldError);
      return err.message;
    }
    assert.fail('expected a refusal');
  };
  const cases: Array<[string, string, string?]> = [
    ['a YAML syntax error on the secret line', `apps:\n  - id: a\n    key: k\n    secret: "${secret}\n`],
    ['a JSON syntax error inside the secret', `{"apps": [{"id": "a", "key": "k", "secret": ${secret}}]}`, 'json'],
    ['an unresolved YAML alias named like the secret', `apps: *${secret}\n`],
    ['an apns block of the wrong shape holding a passphrase', `apps:\n  - { id: a, key: k, secret: ${secret}, apns: { topic: t, passphrase: ${secret} } }\n`],
    ['a webhook header of the wrong type', `apps:\n  - { id: a, key: k, secret: ${secret}, webhooks: [{ url: "http://h", events: [member_added], headers: { Authorization: [${secret}] } }] }\n`],
    ['a Redis URL that lost the space after its key', `redis: url:redis://user:${secret}@h:6379\n`],
    ['a value that became a key', `redis:\n  urlredis://user:${secret}@h:6379/0x: 1\n`],
    ['an apns block of the wrong shape whose passphrase key is misspelt', `apps:\n  - { id: a, key: k, secret: ${secret}, apns: { topic: t, passphHse: ${secret} } }\n`],
    ['an app key that swallowed the secret line after a lost newline', `apps:\n  - id: a\n    key: =k;0  secret:U${secret.slice(1)}\n`],
  ];
  for (const [what, text, extension] of cases) {
    it(what, () => {
      const message = refusal(text, extension);
      assert.match(message, /invalid configuration|does not parse/);
      assert.deepEqual(leakedSecrets(message, [secret]), [], message);
    });
  }

  it('the redacted config masks webhook headers and a Redis URL whose user-info is the password', () => {
    const config = loadConfig({
      env: { HERALD_REDIS_URL: `redis://${secret}@h:6379/0?password=${secret}` },
      file: (() => {
        const file = join(dir, 'headers.yaml');
        writeFileSync(file, stringify({ apps: [{ id: 'a', key: 'k', secret, webhooks: [{ url: 'http://h', events: ['member_added'], headers: { Authorization: secret } }] }] }));
        return file;
      })(),
    });
    const shown = JSON.stringify(redactConfig(config));
    assert.deepEqual(leakedSecrets(shown, [secret]), [], shown);
    assert.match(shown, /"Authorization":"\[redacted\]"/);
  });

  it('the redacted config masks a Redis URL whose credentials lost their ":" and gained a "/": the parser reads the password as the host', () => {
    const url = `redis://userjv${secret.slice(0, 16)}/&,${secret.slice(16)}@127.0.0.1:6379/0`;
    const config = loadConfig({ env: { HERALD_REDIS_URL: url } });
    const shown = JSON.stringify(redactConfig(config));
    assert.deepEqual(leakedSecrets(shown, [secret]), [], shown);
    assert.match(shown, /"url":"redis:\/\/\*\*\*@127\.0\.0\.1:6379\/0"/);
  });
});
