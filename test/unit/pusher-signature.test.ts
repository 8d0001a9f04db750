import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FUTURE_SKEW_SECONDS, readSignedParams, verifyBodyMd5, verifyPusherSignature } from '../../src/http/pusher-signature.js';
import type { SignatureResult } from '../../src/http/pusher-signature.js';
import { signQuery, stringToSign } from '../../src/lib/pusher-signing.js';
import type { QueryParams } from '../../src/lib/pusher-signing.js';
import { hmacSha256Hex, md5Hex } from '../../src/lib/hmac.js';
import type { App } from '../../src/apps/app-store.js';
import { loadConfig } from '../../src/config/load.js';

const app3: App = { ...loadConfig({ env: {} }).apps[0]!, id: '3', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };
const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';

/** The server's order: parameters, then the request line's signature, then the body once read. */
function verify(method: string, path: string, query: QueryParams, rawBody: string | undefined, now: number): SignatureResult {
  const read = readSignedParams(query);
  if (!read.ok) return read;
  const line = verifyPusherSignature({ method, path, params: read.params, announcesBody: rawBody !== undefined && rawBody.length > 0 }, app3, now);
  if (!line.ok || rawBody === undefined) return line;
  return verifyBodyMd5(read.params, Buffer.from(rawBody));
}

describe('Pusher request signatures', () => {
  it("verifies Pusher's worked example", () => {
    assert.equal(md5Hex(body), 'ec365a775a4cd0599faeb73354201b6f');
    const query = { auth_key: app3.key, auth_timestamp: '1353088179', auth_version: '1.0', body_md5: 'ec365a775a4cd0599faeb73354201b6f' };
    const signature = hmacSha256Hex(app3.secret, stringToSign({ method: 'POST', path: '/apps/3/events', query }));
    assert.equal(signature, 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c');
    assert.deepEqual(verify('POST', '/apps/3/events', { ...query, auth_signature: signature }, body, 1353088179 + 10), { ok: true });
  });

  const now = 1_800_000_000;
  const signed = (overrides: Record<string, string | undefined> = {}, payload = body) => {
    const query: Record<string, string | undefined> = { ...signQuery(app3, 'POST', '/apps/3/events', payload, {}, now), ...overrides };
    return verify('POST', '/apps/3/events', query, payload, now);
  };

  it(`accepts 599 s in the past and ${FUTURE_SKEW_SECONDS} s in the future; refuses 600 s past and ${FUTURE_SKEW_SECONDS + 1} s ahead`, () => {
    const at = (skew: number) => verify('GET', '/apps/3/channels', signQuery(app3, 'GET', '/apps/3/channels', undefined, {}, now + skew), undefined, now);
    assert.deepEqual(at(-599), { ok: true });
    assert.deepEqual(at(FUTURE_SKEW_SECONDS), { ok: true });
    const stale = at(-600);
    assert.match(!stale.ok ? stale.error : '', /Timestamp expired/);
    const ahead = at(FUTURE_SKEW_SECONDS + 1);
    assert.deepEqual(ahead, {
      ok: false,
      status: 401,
      error: `Timestamp in the future: Given timestamp (${now + FUTURE_SKEW_SECONDS + 1}) is more than ${FUTURE_SKEW_SECONDS}s ahead of server time (${now})`,
    });
    assert.equal(at(599).ok, false, 'a timestamp 599 s ahead extended the replay window to 20 minutes');
  });

  it('refuses a wrong key, a wrong version, a missing parameter and a tampered body', () => {
    const cases: Array<[ReturnType<typeof signed>, RegExp]> = [
      [signed({ auth_key: 'other-key' }), /Unknown auth_key/],
      [signed({ auth_version: '2.0' }), /Version not supported/],
      [signed({ auth_version: undefined }), /Version required/],
      [signed({ auth_signature: undefined }), /required/],
      [signed({ auth_timestamp: 'yesterday' }), /UNIX seconds/],
      [signed({ body_md5: undefined }), /body_md5 is required/],
      [signed({ auth_signature: 'f'.repeat(64) }), /Invalid signature/],
    ];
    for (const [result, pattern] of cases) {
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.status, 401);
      assert.match(!result.ok ? result.error : '', pattern);
    }
    const query = signQuery(app3, 'POST', '/apps/3/events', body, {}, now);
    const tampered = verify('POST', '/apps/3/events', query, body.replace('foo', 'bar'), now);
    assert.match(!tampered.ok ? tampered.error : '', /body_md5 does not match/);
  });

  it('signs over the method and the path', () => {
    const query = signQuery(app3, 'GET', '/apps/3/channels', undefined, { filter_by_prefix: 'presence-' }, now);
    assert.equal(verify('POST', '/apps/3/channels', query, undefined, now).ok, false);
    assert.equal(verify('GET', '/apps/4/channels', query, undefined, now).ok, false);
    assert.equal(verify('GET', '/apps/3/channels', { ...query, filter_by_prefix: 'private-' }, undefined, now).ok, false);
    assert.equal(verify('GET', '/apps/3/channels', query, undefined, now).ok, true);
  });

  it('reads parameters under their signed (lower-case) names and refuses a name given twice, in any case', () => {
    const read = readSignedParams({ FILTER_BY_PREFIX: 'presence-', auth_key: 'k' });
    assert.deepEqual(read.ok && { ...read.params }, { filter_by_prefix: 'presence-', auth_key: 'k' });
    assert.deepEqual(readSignedParams({ info: ['a', 'b'] }), { ok: false, status: 400, error: "Query parameter 'info' is given more than once" });
    assert.deepEqual(readSignedParams({ info: 'a', Info: 'b' }), { ok: false, status: 400, error: "Query parameters 'info' and 'Info' differ only in case" });
  });

  it('refuses a parameter named __proto__ (in any case) and keeps names an object inherits as plain parameters', () => {
    const query: QueryParams = JSON.parse('{"__PROTO__":"x","auth_key":"k"}') as QueryParams;
    assert.deepEqual(readSignedParams(query), { ok: false, status: 400, error: "Query parameter '__proto__' is not allowed" });
    const read = readSignedParams({ constructor: 'a', toString: 'b' });
    assert.deepEqual(read.ok && Object.entries(read.params), [['constructor', 'a'], ['tostring', 'b']]);
  });

  it("signs with the app's current secret: an app object replaced by a reload verifies with its own", () => {
    const lineSignedBy = (signer: App) => {
      const read = readSignedParams(signQuery(signer, 'GET', '/apps/3/channels', undefined, {}, now));
      assert.ok(read.ok);
      return { method: 'GET', path: '/apps/3/channels', params: read.params, announcesBody: false };
    };
    const rotated: App = { ...app3, secret: 'a-new-secret-after-reload' };
    assert.deepEqual(verifyPusherSignature(lineSignedBy(app3), app3, now), { ok: true });
    assert.deepEqual(verifyPusherSignature(lineSignedBy(app3), app3, now), { ok: true }, 'again, with the key made at the first request');
    assert.equal(verifyPusherSignature(lineSignedBy(app3), rotated, now).ok, false);
    assert.deepEqual(verifyPusherSignature(lineSignedBy(rotated), rotated, now), { ok: true });
  });

  it('builds the string to sign from lower-cased, sorted names, repeated values joined, without auth_signature', () => {
    const text = stringToSign({ method: 'get', path: '/apps/3/channels', query: { b: '2', A: '1', info: ['x', 'y'], auth_signature: 'sig', skipped: undefined } });
    assert.equal(text, 'GET\n/apps/3/channels\na=1&b=2&info=x,y');
    assert.equal(stringToSign({ method: 'GET', path: '/p', query: {} }), 'GET\n/p\n');
  });

  it('signed info=a,b does not verify a request that says info=a&info=b (400 before the signature)', () => {
    const query = signQuery(app3, 'GET', '/apps/3/channels', undefined, { info: 'user_count,subscription_count' }, now);
    const split = verify('GET', '/apps/3/channels', { ...query, info: ['user_count', 'subscription_count'] }, undefined, now);
    assert.deepEqual(split, { ok: false, status: 400, error: "Query parameter 'info' is given more than once" });
  });
});
