import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { verifyChannelAuth, verifySigninAuth } from '../../src/gateway/channels/channel-auth.js';
import { channelType, checkChannelName, isValidSigninUserId, serverToUserId } from '../../src/gateway/channels/channel-name.js';
import { parseChannelData } from '../../src/gateway/channels/presence-member.js';

// Pusher's documented credentials and vectors (auth-signatures reference).
const app = { key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8' };

describe('channel auth signatures', () => {
  it('accepts the documented private-channel vector', () => {
    const auth = `${app.key}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4`;
    assert.deepEqual(verifyChannelAuth(app, '1234.1234', 'private-foobar', auth), { ok: true });
  });

  it('accepts the documented presence vector over the exact channel_data string', () => {
    const channelData = '{"user_id":10,"user_info":{"name":"Mr. Channels"}}';
    const auth = `${app.key}:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80`;
    assert.deepEqual(verifyChannelAuth(app, '1234.1234', 'presence-foobar', auth, channelData), { ok: true });
    const respaced = '{"user_id": 10,"user_info":{"name":"Mr. Channels"}}';
    assert.equal(verifyChannelAuth(app, '1234.1234', 'presence-foobar', auth, respaced).ok, false);
  });

  it('accepts the documented sign-in vector', () => {
    const auth = `${app.key}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba`;
    assert.deepEqual(verifySigninAuth(app, '1234.1234', '{"id":"12345"}', auth), { ok: true });
    assert.equal(verifySigninAuth(app, '1234.1234', '{"id":"12346"}', auth).ok, false);
  });

  it('refuses another socket id, another key, missing and malformed auth', () => {
    const auth = `${app.key}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4`;
    assert.deepEqual(verifyChannelAuth(app, '1234.1235', 'private-foobar', auth), { ok: false, message: 'Invalid signature' });
    assert.deepEqual(verifyChannelAuth(app, '1234.1234', 'private-foobar', `other-key:${auth.split(':')[1]}`), {
      ok: false,
      message: 'Auth key does not match the app key',
    });
    for (const bad of [undefined, '', 42, 'no-colon', ':sig']) {
      assert.equal(verifyChannelAuth(app, '1234.1234', 'private-foobar', bad).ok, false, String(bad));
    }
  });
});

describe('channel names', () => {
  it('classifies by anchored prefix, most specific first', () => {
    const cases: Array<[string, string, boolean]> = [
      ['my-channel', 'public', false],
      ['cache-prices', 'public', true],
      ['private-chat', 'private', false],
      ['private-cache-chat', 'private', true],
      ['private-encrypted-x', 'encrypted', false],
      ['private-encrypted-cache-x', 'encrypted', true],
      ['presence-room', 'presence', false],
      ['presence-cache-room', 'presence', true],
      ['#server-to-user-42', 'user', false],
      ['foo-private-x', 'public', false],
      ['xpresence-room', 'public', false],
    ];
    for (const [name, kind, cache] of cases) assert.deepEqual(channelType(name), { kind, cache }, name);
  });

  it('accepts 164 characters and refuses 165 by default', () => {
    assert.equal(checkChannelName('a'.repeat(164), 164).ok, true);
    assert.deepEqual(checkChannelName('a'.repeat(165), 164), { ok: false, message: 'Channel name is longer than 164 characters' });
  });

  it('refuses empty names, non-strings and any character outside A-Z a-z 0-9 _ - = @ , . ;', () => {
    for (const bad of ['', 'has space', 'star*', 'a/b', 'ümlaut', 'private-#x', 42, null, '#server-to-user-', '#server-to-user-a b']) {
      assert.equal(checkChannelName(bad, 164).ok, false, String(bad));
    }
    assert.equal(checkChannelName('Aa0_-=@,.;', 164).ok, true);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (name) => {
        const allowed = /^(#server-to-user-)?[A-Za-z0-9_\-=@,.;]+$/.test(name);
        return checkChannelName(name, 164).ok === allowed;
      }),
    );
  });

  it('reads the user of a #server-to-user channel and validates sign-in ids', () => {
    assert.equal(serverToUserId('#server-to-user-u@x.com'), 'u@x.com');
    assert.equal(serverToUserId('private-x'), undefined);
    assert.equal(isValidSigninUserId('12345'), true);
    for (const bad of ['', 'a b', 'x'.repeat(129), 12345, undefined]) assert.equal(isValidSigninUserId(bad), false, String(bad));
  });
});

describe('presence channel_data', () => {
  it('reads user_id (numbers become strings) and user_info, defaulting info to {}', () => {
    assert.deepEqual(parseChannelData('{"user_id":10,"user_info":{"name":"Mr. Channels"}}', 1024), {
      ok: true,
      member: { userId: '10', userInfo: { name: 'Mr. Channels' } },
    });
    assert.deepEqual(parseChannelData('{"user_id":"u1"}', 1024), { ok: true, member: { userId: 'u1', userInfo: {} } });
  });

  it('refuses malformed data with 400 and oversized data with 413', () => {
    for (const bad of ['not json', '[]', '{"user_info":{}}', '{"user_id":""}', '{"user_id":{}}', `{"user_id":"${'x'.repeat(129)}"}`]) {
      const result = parseChannelData(bad, 1024);
      assert.equal(result.ok, false, bad);
      assert.equal(!result.ok && result.status, 400, bad);
    }
    const big = JSON.stringify({ user_id: 'u', user_info: { blob: 'x'.repeat(1100) } });
    const result = parseChannelData(big, 1024);
    assert.equal(!result.ok && result.status, 413);
    assert.equal(!result.ok && result.type, 'LimitReached');
  });
});
