import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/redact.js';
import { isHeraldError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
let counter = 0;

function file(content: unknown, ext = 'yaml'): string {
  const path = join(dir, `c${counter++}.${ext}`);
  writeFileSync(path, typeof content === 'string' ? content : ext === 'json' ? JSON.stringify(content) : stringify(content));
  return path;
}

const app = { id: 'a1', key: 'k1', secret: 'secret-one' };

function expectInvalid(options: { content?: unknown; env?: Record<string, string>; ext?: string }, ...patterns: RegExp[]): void {
  const path = options.content === undefined ? undefined : file(options.content, options.ext);
  assert.throws(
    () => loadConfig({ file: path, env: options.env ?? {} }),
    (err: unknown) => {
      assert.ok(isHeraldError(err), `expected HeraldError, got ${String(err)}`);
      for (const pattern of patterns) assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('configuration defaults', () => {
  it('starts the demo app on loopback with no file and no env', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.demo, true);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.port, 6001);
    assert.equal(config.metrics.port, 9601);
    assert.equal(config.redis.url, undefined);
    assert.equal(config.queue.prefix, 'herald');
    assert.deepEqual(config.apps.map((a) => [a.id, a.key, a.secret]), [['app-id', 'app-key', 'app-secret']]);
    assert.equal(config.apps[0]?.limits.maxEventPayloadKb, 10);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ env: {} });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.server));
    assert.ok(Object.isFrozen(config.apps[0]?.limits));
    assert.throws(() => {
      (config.server as { port: number }).port = 1;
    }, TypeError);
  });

  it('parses the documented example file', () => {
    const config = loadConfig({ file: 'config/herald.example.yaml', env: {} });
    assert.equal(config.demo, false);
    assert.equal(config.apps.length, 1);
  });

  it('reads JSON files as well as YAML', () => {
    const config = loadConfig({ file: file({ apps: [app] }, 'json'), env: {} });
    assert.equal(config.apps[0]?.id, 'a1');
  });

  it('lets the environment override the file, including the one-app shortcut', () => {
    const config = loadConfig({
      file: file({ server: { port: 7000 }, apps: [app] }),
      env: { HERALD_PORT: '7100', HERALD_REDIS_URL: 'redis://127.0.0.1:6390/2', HERALD_APP_ID: 'env-app', HERALD_APP_KEY: 'env-key', HERALD_APP_SECRET: 'env-secret-x' },
    });
    assert.equal(config.server.port, 7100);
    assert.equal(config.redis.url, 'redis://127.0.0.1:6390/2');
    assert.deepEqual(config.apps.map((a) => a.id), ['env-app']);
  });

  it('reads secrets from *_FILE variables and secretFile/passphraseFile keys', () => {
    const secretPath = file('file-secret-value\n', 'txt');
    const passPath = file('pass-from-file\n', 'txt');
    const fromEnv = loadConfig({ env: { HERALD_APP_ID: 'x', HERALD_APP_KEY: 'y', HERALD_APP_SECRET_FILE: secretPath } });
    assert.equal(fromEnv.apps[0]?.secret, 'file-secret-value');
    const fromKeys = loadConfig({
      file: file({ apps: [{ id: 'a', key: 'b', secretFile: secretPath, apns: { topic: 'com.x', pfx: '/tmp/x.p12', passphraseFile: passPath } }] }),
      env: {},
    });
    assert.equal(fromKeys.apps[0]?.secret, 'file-secret-value');
    assert.equal(fromKeys.apps[0]?.apns?.passphrase, 'pass-from-file');
  });

  it('redacts secrets, passphrases and Redis passwords in the loggable form', () => {
    const config = loadConfig({
      file: file({ redis: { url: 'redis://user:hunter2@127.0.0.1:6379' }, apps: [{ ...app, apns: { topic: 'com.x', pfx: '/x.p12', passphrase: 'p12-pass' } }] }),
      env: {},
    });
    const text = JSON.stringify(redactConfig(config));
    assert.doesNotMatch(text, /secret-one|hunter2|p12-pass/);
    assert.match(text, /\[redacted\]/);
  });
});

describe('bad configurations stop start-up with key, problem and source', () => {
  const cases: Array<[string, { content?: unknown; env?: Record<string, string>; ext?: string }, RegExp[]]> = [
    ['wrong type for a port', { content: { server: { port: 'eighty' } } }, [/server\.port/, /expected number/i, /file .*c\d+\.yaml/]],
    ['port out of range', { content: { server: { port: 70000 } } }, [/server\.port/, /65535/]],
    ['port out of range from env', { env: { HERALD_PORT: '99999' } }, [/server\.port/, /env HERALD_PORT/]],
    ['non-numeric port from env', { env: { HERALD_METRICS_PORT: 'abc' } }, [/metrics\.port/, /env HERALD_METRICS_PORT/]],
    ['unknown top-level key', { content: { sevrer: { port: 1 } } }, [/unknown key 'sevrer'/]],
    ['unknown nested key', { content: { apps: [{ ...app, limits: { maxConections: 5 } }] } }, [/apps\[0\]\.limits/, /unknown key 'maxConections'/]],
    ['duplicate app ids', { content: { apps: [app, { ...app, key: 'k2' }] } }, [/apps\[1\]\.id/, /duplicate app id 'a1'/]],
    ['duplicate app keys', { content: { apps: [app, { ...app, id: 'a2' }] } }, [/apps\[1\]\.key/, /duplicate app key 'k1'/]],
    ['app without secret', { content: { apps: [{ id: 'a', key: 'b' }] } }, [/apps\[0\]\.secret/, /needs secret or secretFile/]],
    ['unreadable secret file', { content: { apps: [{ id: 'a', key: 'b', secretFile: '/nonexistent/secret' }] } }, [/apps\[0\]\.secretFile/, /ENOENT/]],
    ['unreadable *_FILE env', { env: { HERALD_APP_ID: 'a', HERALD_APP_KEY: 'b', HERALD_APP_SECRET_FILE: '/nonexistent/s' } }, [/HERALD_APP_SECRET_FILE/, /ENOENT/]],
    ['bad Redis URL', { content: { redis: { url: 'http://localhost:6379' } } }, [/redis\.url/, /redis:\/\//]],
    ['bad Redis URL from env', { env: { HERALD_REDIS_URL: 'not a url' } }, [/redis\.url/, /env HERALD_REDIS_URL/]],
    ['apns with both certificate and token', { content: { apps: [{ ...app, apns: { topic: 't', cert: '/c', key: '/k', token: { key: '/p8', keyId: 'ABC123DEFG', teamId: 'TEAM123456' } } }] } }, [/apps\[0\]\.apns/, /not several/]],
    ['apns with no credentials', { content: { apps: [{ ...app, apns: { topic: 't' } }] } }, [/apps\[0\]\.apns/, /needs one of/]],
    ['apns cert without key', { content: { apps: [{ ...app, apns: { topic: 't', cert: '/c' } }] } }, [/apps\[0\]\.apns\.key/, /go together/]],
    ['apns topic with CR/LF (sent as the apns-topic header)', { content: { apps: [{ ...app, apns: { topic: 'com.x\r\nx-evil: 1', pfx: '/x.p12' } }] } }, [/apps\[0\]\.apns\.topic/, /printable ASCII/]],
    ['apns topic with non-ASCII', { content: { apps: [{ ...app, apns: { topic: 'com.exämple', pfx: '/x.p12' } }] } }, [/apps\[0\]\.apns\.topic/, /printable ASCII/]],
    ['apns token with a malformed key id', { content: { apps: [{ ...app, apns: { topic: 't', token: { key: '/p8', keyId: 'abc', teamId: 'TEAM123456' } } }] } }, [/apps\[0\]\.apns\.token\.keyId/]],
    ['unknown log level', { content: { log: { level: 'loud' } } }, [/log\.level/]],
    ['webhook with a non-http URL', { content: { apps: [{ ...app, webhooks: [{ url: 'ftp://x', events: ['channel_occupied'] }] }] } }, [/apps\[0\]\.webhooks\[0\]\.url/]],
    ['webhook with an unknown event', { content: { apps: [{ ...app, webhooks: [{ url: 'http://x', events: ['channel_exploded'] }] }] } }, [/apps\[0\]\.webhooks\[0\]\.events\[0\]/]],
    ['app id with forbidden characters', { content: { apps: [{ ...app, id: 'a/b' }] } }, [/apps\[0\]\.id/]],
    ['YAML that does not parse', { content: 'server: [unclosed' }, [/does not parse/]],
    ['top level that is a list', { content: '- 1\n- 2\n' }, [/mapping at the top level/]],
    ['only part of the env app', { env: { HERALD_APP_ID: 'a' } }, [/go together/]],
    ['secret both inline and as a file', { content: { apps: [{ ...app, secretFile: '/x' }] } }, [/not both/]],
    ['sentinel mode without sentinels', { content: { redis: { mode: 'sentinel' } } }, [/redis\.mode/, /sentinels/]],
    ['negative queue concurrency', { content: { queue: { concurrency: -1 } } }, [/queue\.concurrency/]],
  ];
  for (const [name, input, patterns] of cases) {
    it(name, () => expectInvalid(input, ...patterns));
  }

  it('reports every bad key at once, not just the first', () => {
    expectInvalid({ content: { server: { port: -1 }, metrics: { port: 'x' }, log: { level: 'loud' } } }, /server\.port/, /metrics\.port/, /log\.level/);
  });

  it('names a missing config file', () => {
    assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /cannot read config file .*missing\.yaml/);
  });

  it('never echoes a secret value in an error', () => {
    expectInvalid({ content: { apps: [{ id: 'a', key: 'b', secret: 'short' }] } }, /apps\[0\]\.secret/, /at least 8/);
    try {
      loadConfig({ file: file({ apps: [{ id: 'a', key: 'b', secret: 'short' }] }), env: {} });
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /'short'/);
    }
  });

  it('masks a key that is not a name in the path it reports: a header line that lost its newline holds a secret', () => {
    // A webhook header whose ': ' and newline were lost: its name now holds the token and the next key.
    const text = [
      'apps:',
      '  - id: a1',
      '    key: k1',
      '    secret: secret-one',
      '    webhooks:',
      '      - url: http://hooks.example.test',
      '        events: [member_added]',
      '        headers:',
      '          Authorization sEcReT-webhook-token-0123456789   allowedOrigins: []',
      '',
    ].join('\n');
    assert.throws(
      () => loadConfig({ file: file(text), env: {} }),
      (err: unknown) => {
        assert.ok(isHeraldError(err));
        assert.match(err.message, /apps\[0\]\.webhooks\[0\]\.headers\["<a key of \d+ characters>"\]/);
        assert.doesNotMatch(err.message, /sEcReT/);
        return true;
      },
    );
  });

  it('reads the config path from HERALD_CONFIG', () => {
    const path = file({ server: { port: 7777 } });
    assert.equal(loadConfig({ env: { HERALD_CONFIG: path } }).server.port, 7777);
    assert.ok(readFileSync(path, 'utf8').includes('7777'));
  });
});

describe('config/herald.example.yaml', () => {
  it('documents every key of the schema', async () => {
    const { configSchema } = await import('../../src/config/schema.js');
    const example = readFileSync('config/herald.example.yaml', 'utf8');
    const missing: string[] = [];
    let checked = 0;
    const walk = (schema: unknown, path: string): void => {
      const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (!def) return;
      if (def.type === 'object') {
        for (const [key, child] of Object.entries(def.shape as Record<string, unknown>)) {
          const keyPath = path ? `${path}.${key}` : key;
          // Keys appear as `key:` (possibly commented out) or inside a flow mapping `{ key: ... }`.
          checked += 1;
          if (!new RegExp(`(^|[\\s{#,])${key}:`, 'm').test(example)) missing.push(keyPath);
          walk(child, keyPath);
        }
        return;
      }
      for (const inner of ['innerType', 'in', 'element', 'schema']) if (def[inner]) walk(def[inner], path);
    };
    walk(configSchema, '');
    assert.ok(checked > 60, `walked only ${checked} keys`);
    assert.deepEqual(missing, [], `undocumented keys: ${missing.join(', ')}`);
  });
});
