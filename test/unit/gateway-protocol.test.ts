import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StaticAppStore } from '../../src/apps/app-store.js';
import { configSchema } from '../../src/config/schema.js';
import type { App } from '../../src/apps/app-store.js';
import { closeReason } from '../../src/gateway/close-codes.js';
import { checkHandshake } from '../../src/gateway/handshake.js';
import { originAllowed } from '../../src/gateway/origin.js';
import { connectionEstablishedFrame, frameDataObject, parseFrame } from '../../src/gateway/protocol.js';
import { createSocketId, socketIdPattern } from '../../src/gateway/socket-id.js';

function apps(...overrides: Array<Record<string, unknown>>): StaticAppStore {
  const parsed = configSchema.parse({ apps: overrides.map((o, i) => ({ id: `app${i}`, key: `key${i}`, secret: 'secret-secret', ...o })) });
  return new StaticAppStore((parsed.apps ?? []) as unknown as App[]);
}

describe('inbound frames', () => {
  it('parses an event with channel and data', () => {
    const text = '{"event":"client-x","channel":"private-a","data":{"n":1}}';
    assert.deepEqual(parseFrame(text), {
      ok: true,
      frame: { event: 'client-x', channel: 'private-a', data: { n: 1 }, raw: Buffer.from(text) },
    });
    assert.deepEqual(parseFrame(Buffer.from(text)), parseFrame(text), 'bytes as received parse the same');
  });

  it('names what is wrong with bad frames', () => {
    assert.equal((parseFrame('{nope') as { reason: string }).reason, 'malformed_json');
    for (const text of ['[]', '1', '"x"', 'null']) assert.equal((parseFrame(text) as { reason: string }).reason, 'not_an_object', text);
    for (const text of ['{}', '{"event":""}', '{"event":3}']) assert.equal((parseFrame(text) as { reason: string }).reason, 'missing_event', text);
  });

  it('accepts pusher:* data as an object or a JSON-encoded object', () => {
    assert.deepEqual(frameDataObject({ channel: 'a' }), { channel: 'a' });
    assert.deepEqual(frameDataObject('{"channel":"a"}'), { channel: 'a' });
    assert.equal(frameDataObject('[1]'), undefined);
    assert.equal(frameDataObject('nope'), undefined);
  });

  it('double-encodes connection_established data', () => {
    const frame = JSON.parse(connectionEstablishedFrame('1.2', 30)) as { data: string };
    assert.equal(typeof frame.data, 'string');
    assert.deepEqual(JSON.parse(frame.data), { socket_id: '1.2', activity_timeout: 30 });
  });

  it('creates distinct socket ids in the SDK format', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => createSocketId()));
    assert.equal(ids.size, 10_000);
    for (const id of ids) assert.match(id, socketIdPattern);
  });

  it('keeps close reasons within the 123-byte limit', () => {
    assert.equal(closeReason('short'), 'short');
    assert.ok(Buffer.byteLength(closeReason('é'.repeat(100))) <= 123);
  });
});

describe('handshake', () => {
  const store = apps({}, { enabled: false }, { allowedOrigins: ['https://app.example.com', 'https://*.example.org'] });
  const verdict = (url: string, origin?: string) => checkHandshake({ url, origin }, store);

  it('accepts /app/{key} with protocol 5 to 7, or none (as 7)', () => {
    for (const [url, protocol] of [['/app/key0?protocol=7&client=js&version=8.4.0&flash=false', 7], ['/app/key0?protocol=5', 5], ['/app/key0', 7]] as const) {
      const result = verdict(url);
      assert.equal(result.ok && result.protocol, protocol, url);
    }
  });

  it('answers each refusal with its Pusher close code', () => {
    const cases: Array<[string, number]> = [
      ['/foo', 4005],
      ['/app/key0/extra', 4005],
      ['/app/', 4005],
      ['/app/key0?protocol=abc', 4006],
      ['/app/key0?protocol=7.1', 4006],
      ['/app/key0?protocol=3', 4007],
      ['/app/key0?protocol=8', 4007],
      ['/app/nope?protocol=7', 4001],
      ['/app/key1?protocol=7', 4003],
    ];
    for (const [url, code] of cases) {
      const result = verdict(url);
      assert.equal(!result.ok && result.code, code, url);
    }
  });

  it('checks the protocol before looking up the app, as Pusher does', () => {
    const result = verdict('/app/nope?protocol=2');
    assert.equal(!result.ok && result.code, 4007);
  });

  it('enforces the app origin list with 4009', () => {
    assert.equal(verdict('/app/key2', 'https://app.example.com').ok, true);
    assert.equal(verdict('/app/key2', 'https://a.b.example.org').ok, true);
    for (const origin of ['https://evil.com', 'http://app.example.com', undefined]) {
      const result = verdict('/app/key2', origin);
      assert.equal(!result.ok && result.code, 4009, String(origin));
    }
  });
});

describe('origin matching', () => {
  it('allows everything without a list, matches exactly (case-insensitive) or by wildcard', () => {
    assert.equal(originAllowed([], undefined), true);
    assert.equal(originAllowed(['*'], undefined), true);
    assert.equal(originAllowed(['https://A.example.com'], 'https://a.example.com'), true);
    assert.equal(originAllowed(['https://*.example.com'], 'https://example.com'), false);
    assert.equal(originAllowed(['https://*.example.com'], 'https://x.example.com.evil.net'), false);
    assert.equal(originAllowed(['https://app.example.com:*'], 'https://app.example.com:8443'), true);
    assert.equal(originAllowed(['https://a.example.com'], 'https://a.example.com.evil'), false);
  });

  it('a wildcard matches host labels only: https://evil.com/.example.com is not *.example.com', () => {
    const wildcard = ['https://*.example.com'];
    for (const origin of ['https://evil.com/.example.com', 'https://evil.com?.example.com', 'https://evil.com#.example.com', 'https://user@evil.com/.example.com', 'https://evil.com:443/.example.com', 'https://evilexample.com', 'null']) {
      assert.equal(originAllowed(wildcard, origin), false, origin);
    }
    assert.equal(originAllowed(wildcard, 'https://a.example.com'), true);
    assert.equal(originAllowed(wildcard, 'https://a.b.example.com'), true);
    assert.equal(originAllowed(wildcard, 'http://a.example.com'), false, 'the scheme in the pattern is checked');
    assert.equal(originAllowed(wildcard, 'https://a.example.com:8443'), false, 'a pattern without a port means the default port');
    assert.equal(originAllowed(['*.example.com'], 'http://a.example.com:8080'), true, 'a pattern without scheme or port checks the host only');
    assert.equal(originAllowed(['*.example.com'], 'https://evil.com/.example.com'), false);
    assert.equal(originAllowed(['https://app-*.example.com'], 'https://app-1.example.com'), true);
    assert.equal(originAllowed(['https://app-*.example.com'], 'https://app-1.evil.com/.example.com'), false);
    assert.equal(originAllowed(['https://app.example.com'], 'https://app.example.com/'), false, 'an Origin never carries a path');
  });
});
