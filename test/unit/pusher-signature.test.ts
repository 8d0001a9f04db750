import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signQuery, stringToSign, verifyPusherSignature } from '../../src/http/pusher-signature.js';
import { hmacSha256Hex, md5Hex } from '../../src/lib/hmac.js';
import type { App } from '../../src/apps/app-store.js';
import { loadConfig } from '../../src/config/load.js';

const app3: App = { ...loadConfig({ env: {} }).apps[0]!, id: '3', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };
const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';

describe('Pusher request signatures', () => {
  it("verifies Pusher's worked example", () => {
    assert.equal(md5Hex(body), 'ec365a775a4cd0599faeb73354201b6f');
    const query = { auth_key: app3.key, auth_timestamp: '1353088179', auth_version: '1.0', body_md5: 'ec365a775a4cd0599faeb73354201b6f' };
    const signature = hmacSha256Hex(app3.secret, stringToSign({ method: 'POST', path: '/apps/3/events', query }));
    assert.equal(signature, 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c');
    const result = verifyPusherSignature(
      { method: 'POST', path: '/apps/3/events', query: { ...query, auth_signature: signature }, rawBody: Buffer.from(body) },
      app3,
      1353088179 + 10,
    );
    assert.deepEqual(result, { ok: true });
  });

  const now = 1_800_000_000;
  const signed = (overrides: Record<string, string | undefined> = {}, payload = body) => {
    const query: Record<string, string | undefined> = { ...signQuery(app3, 'POST', '/apps/3/events', payload, {}, now), ...overrides };
    return verifyPusherSignature({ method: 'POST', path: '/apps/3/events', query, rawBody: Buffer.from(payload) }, app3, now);
  };

  it('accepts 599 s of clock skew and refuses 600 s', () => {
    const at = (skew: number) => {
      const query = signQuery(app3, 'GET', '/apps/3/channels', undefined, {}, now + skew);
      return verifyPusherSignature({ method: 'GET', path: '/apps/3/channels', query, rawBody: undefined }, app3, now);
    };
    assert.deepEqual(at(599), { ok: true });
    assert.deepEqual(at(-599), { ok: true });
    const stale = at(-600);
    assert.equal(stale.ok, false);
    assert.match(!stale.ok ? stale.error : '', /Timestamp expired/);
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
    const tampered = verifyPusherSignature({ method: 'POST', path: '/apps/3/events', query, rawBody: Buffer.from(body.replace('foo', 'bar')) }, app3, now);
    assert.match(!tampered.ok ? tampered.error : '', /body_md5 does not match/);
  });

  it('signs over the method and the path', () => {
    const query = signQuery(app3, 'GET', '/apps/3/channels', undefined, { filter_by_prefix: 'presence-' }, now);
    assert.equal(verifyPusherSignature({ method: 'POST', path: '/apps/3/channels', query, rawBody: undefined }, app3, now).ok, false);
    assert.equal(verifyPusherSignature({ method: 'GET', path: '/apps/4/channels', query, rawBody: undefined }, app3, now).ok, false);
    assert.equal(verifyPusherSignature({ method: 'GET', path: '/apps/3/channels', query: { ...query, filter_by_prefix: 'private-' }, rawBody: undefined }, app3, now).ok, false);
    assert.equal(verifyPusherSignature({ method: 'GET', path: '/apps/3/channels', query, rawBody: undefined }, app3, now).ok, true);
  });
});
