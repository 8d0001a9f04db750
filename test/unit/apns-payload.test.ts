import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apsProblem } from '../../src/providers/apns/aps-dictionary.js';
import { MAX_COLLAPSE_ID_BYTES, prepareNotification } from '../../src/providers/apns/payload.js';
import type { PreparedNotification } from '../../src/providers/apns/payload.js';
import { isPushType, pushTypes, topicFor } from '../../src/lib/apns-push-types.js';

const TOPIC = 'com.example.app';

function prepared(batch: Parameters<typeof prepareNotification>[0]): PreparedNotification {
  const result = prepareNotification(batch, TOPIC);
  assert.ok(result.ok, result.ok ? '' : `${result.problem.reason}: ${result.problem.detail}`);
  return result.notification;
}

function problem(batch: Parameters<typeof prepareNotification>[0]): { reason: string; detail: string } {
  const result = prepareNotification(batch, TOPIC);
  assert.ok(!result.ok, 'expected a refusal');
  return result.problem;
}

/** A payload whose serialized form is exactly `bytes` long. */
function payloadOf(bytes: number, pushType = 'alert'): Record<string, unknown> {
  const base = pushType === 'background' ? { aps: { 'content-available': 1 }, pad: '' } : { aps: { alert: '' } };
  const overhead = Buffer.byteLength(JSON.stringify(base));
  return pushType === 'background' ? { aps: { 'content-available': 1 }, pad: 'x'.repeat(bytes - overhead) } : { aps: { alert: 'x'.repeat(bytes - overhead) } };
}

describe('push types', () => {
  it('adds each type\'s topic suffix once and knows every documented type', () => {
    const expected: Record<string, string> = {
      alert: TOPIC, background: TOPIC, mdm: TOPIC, voip: `${TOPIC}.voip`, complication: `${TOPIC}.complication`,
      fileprovider: `${TOPIC}.pushkit.fileprovider`, location: `${TOPIC}.location-query`, liveactivity: `${TOPIC}.push-type.liveactivity`,
      pushtotalk: `${TOPIC}.voip-ptt`, widgets: `${TOPIC}.push-type.widgets`,
    };
    assert.deepEqual(Object.keys(pushTypes).sort(), Object.keys(expected).sort());
    for (const [type, topic] of Object.entries(expected)) {
      assert.ok(isPushType(type));
      assert.equal(topicFor(TOPIC, type), topic);
      assert.equal(topicFor(topic, type), topic, 'an already suffixed topic is kept');
    }
    assert.equal(isPushType('toString'), false);
  });

  it('sends the default priority per type: 5 for background, fileprovider and widgets, 10 otherwise', () => {
    const fives = ['background', 'fileprovider', 'widgets'];
    for (const type of Object.keys(pushTypes)) {
      const payload = type === 'mdm' ? { mdm: 'magic' } : type === 'background' ? { aps: { 'content-available': 1 } } : type === 'liveactivity' ? { aps: { event: 'end', timestamp: 1 } } : { aps: {} };
      const n = prepared({ pushType: type, payload });
      assert.equal(n.headers['apns-priority'], fives.includes(type) ? '5' : '10', type);
      assert.equal(n.headers['apns-push-type'], type);
    }
  });

  it('refuses priorities a type does not allow', () => {
    assert.equal(problem({ pushType: 'background', priority: 10, payload: { aps: { 'content-available': 1 } } }).reason, 'BadPriority');
    assert.equal(problem({ pushType: 'pushtotalk', priority: 5, payload: { aps: {} } }).reason, 'BadPriority');
    assert.equal(problem({ priority: 7, payload: { aps: {} } }).reason, 'BadPriority');
    assert.equal(prepared({ priority: 1, payload: { aps: {} } }).headers['apns-priority'], '1');
  });
});

describe('request building', () => {
  it('defaults to an alert push on the app topic and serializes the payload once', () => {
    const n = prepared({ payload: { aps: { alert: 'hi' }, order: 7 } });
    assert.deepEqual(n.headers, { 'apns-push-type': 'alert', 'apns-topic': TOPIC, 'apns-priority': '10' });
    assert.deepEqual(JSON.parse(n.body.toString()), { aps: { alert: 'hi' }, order: 7 });
  });

  it('uses the batch topic over the app topic, and passes expiration and collapse id', () => {
    const n = prepared({ topic: 'com.example.other', pushType: 'voip', expiration: 1_700_000_000, collapseId: 'c1', payload: { aps: {} } });
    assert.equal(n.headers['apns-topic'], 'com.example.other.voip');
    assert.equal(n.headers['apns-expiration'], '1700000000');
    assert.equal(n.headers['apns-collapse-id'], 'c1');
    assert.equal(prepared({ expiration: 0, payload: { aps: {} } }).headers['apns-expiration'], '0');
  });

  it('measures the size limit on serialized bytes: 4096, and 5120 for voip', () => {
    assert.equal(prepared({ payload: payloadOf(4096) }).body.length, 4096);
    assert.equal(problem({ payload: payloadOf(4097) }).reason, 'PayloadTooLarge');
    assert.match(problem({ payload: payloadOf(4097) }).detail, /4097 bytes, the limit for alert pushes is 4096/);
    assert.equal(prepared({ pushType: 'voip', payload: payloadOf(5120) }).body.length, 5120);
    assert.equal(problem({ pushType: 'voip', payload: payloadOf(5121) }).reason, 'PayloadTooLarge');
    // Multi-byte characters count as their UTF-8 bytes.
    const emoji = { aps: { alert: '🙂'.repeat(1021) } };
    assert.ok(JSON.stringify(emoji).length < 4096 && Buffer.byteLength(JSON.stringify(emoji)) > 4096);
    assert.equal(problem({ payload: emoji }).reason, 'PayloadTooLarge');
  });

  it('limits the collapse id to 64 bytes, counted in UTF-8', () => {
    assert.equal(prepared({ collapseId: 'a'.repeat(MAX_COLLAPSE_ID_BYTES), payload: { aps: {} } }).headers['apns-collapse-id']?.length, 64);
    assert.equal(problem({ collapseId: 'a'.repeat(65), payload: { aps: {} } }).reason, 'BadCollapseId');
    assert.equal(problem({ collapseId: 'é'.repeat(33), payload: { aps: {} } }).reason, 'BadCollapseId');
    assert.equal(problem({ collapseId: '', payload: { aps: {} } }).reason, 'BadCollapseId');
  });

  it('refuses bad expirations, unknown push types, missing topics and empty payloads', () => {
    assert.equal(problem({ expiration: -1, payload: { aps: {} } }).reason, 'BadExpirationDate');
    assert.equal(problem({ expiration: 1.5, payload: { aps: {} } }).reason, 'BadExpirationDate');
    assert.equal(problem({ pushType: 'fax', payload: { aps: {} } }).reason, 'InvalidPushType');
    assert.equal(problem({ topic: ' ', payload: { aps: {} } }).reason, 'MissingTopic');
    assert.equal(problem({ payload: {} }).reason, 'PayloadEmpty');
    assert.equal(problem({ payload: [] as unknown as Record<string, unknown> }).reason, 'PayloadEmpty');
    assert.equal(problem({ payload: { order: 1 } }).reason, 'BadPayload');
    assert.deepEqual(JSON.parse(prepared({ pushType: 'mdm', payload: { mdm: 'magic' } }).body.toString()), { mdm: 'magic' });
    const circular: Record<string, unknown> = { aps: {} };
    circular.self = circular;
    assert.equal(problem({ payload: circular }).reason, 'BadPayload');
  });
});

describe('aps dictionary', () => {
  const accepted: Array<Record<string, unknown>> = [
    { alert: 'text' },
    { alert: { title: 't', subtitle: 's', body: 'b', 'launch-image': 'l', 'title-loc-key': 'k', 'title-loc-args': ['a'], 'subtitle-loc-key': 'k', 'subtitle-loc-args': [], 'loc-key': 'k', 'loc-args': ['x', 'y'] } },
    { badge: 0 }, { badge: 12 },
    { sound: 'default' }, { sound: { critical: 1, name: 'alarm.caf', volume: 0.5 } },
    { 'thread-id': 't', category: 'c', 'target-content-id': 'x', 'filter-criteria': 'work' },
    { 'content-available': 1 }, { 'mutable-content': 1 },
    { 'interruption-level': 'passive' }, { 'interruption-level': 'time-sensitive' },
    { 'relevance-score': 0 }, { 'relevance-score': 1 },
    { 'stale-date': 1_700_000_000, 'dismissal-date': 1_700_000_100, timestamp: 1_700_000_000, event: 'update', 'content-state': {} },
    { 'attributes-type': 'Match', attributes: { home: 'A' } },
  ];
  for (const aps of accepted) {
    it(`accepts ${JSON.stringify(aps).slice(0, 60)}`, () => assert.equal(apsProblem(aps, 'alert'), undefined));
  }

  const refused: Array<[unknown, RegExp]> = [
    [null, /aps must be an object/],
    ['x', /aps must be an object/],
    [{ alert: 3 }, /aps\.alert must be an object/],
    [{ alert: { titel: 'typo' } }, /aps\.alert has unknown key 'titel'/],
    [{ alert: { 'loc-args': 'a' } }, /aps\.alert\.loc-args must be an array of strings/],
    [{ badge: -1 }, /aps\.badge must be a non-negative integer/],
    [{ badge: '3' }, /aps\.badge/],
    [{ sound: { volume: 2 } }, /aps\.sound\.volume must be a number from 0 to 1/],
    [{ sound: { critical: true } }, /aps\.sound\.critical must be 0 or 1/],
    [{ 'content-available': true }, /aps\.content-available must be 1/],
    [{ 'mutable-content': 0 }, /aps\.mutable-content must be 1/],
    [{ 'interruption-level': 'loud' }, /must be one of passive, active, time-sensitive, critical/],
    [{ 'relevance-score': 1.5 }, /aps\.relevance-score/],
    [{ 'stale-date': 'tomorrow' }, /aps\.stale-date/],
    [{ event: 'pause' }, /aps\.event must be one of start, update, end/],
    [{ 'content-state': [] }, /aps\.content-state must be an object/],
    [{ colour: 'red' }, /aps has unknown key 'colour'/],
  ];
  for (const [aps, message] of refused) {
    it(`refuses ${JSON.stringify(aps)}`, () => assert.match(apsProblem(aps, 'alert') ?? '', message));
  }

  it('requires content-available and forbids alert, badge and sound in background pushes', () => {
    assert.equal(apsProblem({ 'content-available': 1 }, 'background'), undefined);
    assert.match(apsProblem({}, 'background') ?? '', /needs aps\.content-available = 1/);
    assert.match(apsProblem({ 'content-available': 1, alert: 'x', badge: 1 }, 'background') ?? '', /must not carry aps\.alert, aps\.badge/);
    assert.match(apsProblem({ 'content-available': 1, sound: 'a' }, 'background') ?? '', /aps\.sound/);
  });

  it('requires event and timestamp in live activity pushes, and attributes to start one', () => {
    assert.match(apsProblem({ timestamp: 1 }, 'liveactivity') ?? '', /needs aps\.event/);
    assert.match(apsProblem({ event: 'end' }, 'liveactivity') ?? '', /needs aps\.timestamp/);
    assert.match(apsProblem({ event: 'update', timestamp: 1 }, 'liveactivity') ?? '', /update event needs aps\.content-state/);
    assert.match(apsProblem({ event: 'start', timestamp: 1, 'content-state': {} }, 'liveactivity') ?? '', /start event needs aps\.attributes-type/);
    assert.equal(apsProblem({ event: 'start', timestamp: 1, 'content-state': {}, 'attributes-type': 'A', attributes: {} }, 'liveactivity'), undefined);
  });
});
