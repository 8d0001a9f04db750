import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'debug', format: 'json', destination }) };
}

describe('logger', () => {
  it('writes one JSON object per line with level, time and message', () => {
    const { lines, log } = capture();
    log.info({ app: 'a1' }, 'hello');
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(entry.msg, 'hello');
    assert.equal(entry.app, 'a1');
    assert.equal(entry.level, 30);
    assert.equal(typeof entry.time, 'string');
  });

  it('redacts app secrets, passphrases, key material, signatures and authorization headers', () => {
    const { lines, log } = capture();
    const secrets = ['app-secret-value', 'p12-passphrase', '-----BEGIN PRIVATE KEY-----abc', 'Bearer eyJhbGciOi', 'deadbeefsignature', 'eyJ.jwt.value'];
    log.info({ secret: secrets[0] }, 'top-level secret');
    log.info({ app: { id: 'a', secret: secrets[0] } }, 'nested secret');
    log.info({ config: { apps: [{ id: 'a', secret: secrets[0] }] } }, 'config');
    log.info({ apns: { passphrase: secrets[1], privateKey: secrets[2] } }, 'apns');
    log.info({ req: { headers: { authorization: secrets[3] } } }, 'request');
    log.info({ query: { auth_signature: secrets[4] } }, 'query');
    log.info({ token: { jwt: secrets[5] } }, 'jwt');
    const output = lines.join('\n');
    for (const secret of secrets) assert.ok(!output.includes(secret), `leaked ${secret}`);
    assert.ok(output.split('[redacted]').length - 1 >= 7);
  });
});

describe('logger without pino-pretty (a development dependency, absent from the image)', () => {
  it('format pretty falls back to JSON lines and says why, instead of failing to start', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const log = createLogger({ level: 'info', format: 'pretty', destination, findPretty: () => undefined });
    log.info({ app: 'a1' }, 'hello');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.match(String(entries[0]?.msg), /pino-pretty is not installed/);
    assert.equal(entries[1]?.msg, 'hello');
  });
});
