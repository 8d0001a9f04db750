import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { signedRequest } from '../../src/client/signed-request.js';
import { connected, pusherClient, subscribe } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { PipelineHarness, deviceToken, pushApp } from './pipeline-harness.js';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

const committed = JSON.parse(readFileSync(new URL('../../schema/openapi.json', import.meta.url), 'utf8')) as Document;
const base = 'https://herald.invalid/openapi.json';
// The document as one schema resource: component $refs (#/components/schemas/…) resolve inside it.
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ ...committed, $id: base });

/**
 * Real answers of the running daemon against the committed document: the route and status
 * must be documented, and the body must validate against that status's schema.
 */
describe('OpenAPI document against real responses', () => {
  let h: PipelineHarness;
  let member: PusherClient;
  const checked = new Set<string>();

  before(async () => {
    h = await PipelineHarness.start('memory');
    member = pusherClient(h.herald.httpPort, pushApp, { presence: { user_id: 'u-1', user_info: { name: 'Ann' } } });
    await connected(member);
    await subscribe(member, 'presence-room');
  });
  after(async () => {
    member.disconnect();
    await h.stop();
  });

  function conforms(method: string, template: string, status: number, body: unknown): void {
    const operation = committed.paths[template]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${template} is documented`);
    const response = operation.responses[String(status)];
    assert.ok(response, `${method} ${template} documents status ${status} (body ${JSON.stringify(body)})`);
    const schema = response.content?.['application/json']?.schema;
    if (!schema) {
      assert.equal(body, undefined, `${method} ${template} ${status} has no body`);
    } else {
      const validate = ajv.compile(schema.$ref ? { $ref: `${base}${schema.$ref}` } : schema);
      assert.ok(validate(body), `${method} ${template} ${status}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(body)}`);
    }
    checked.add(`${method} ${template} ${status}`);
  }

  async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', template: string, path: string, options: { body?: unknown; params?: Record<string, string> } = {}): Promise<{ status: number; body: unknown }> {
    const res = await signedRequest(h.herald.baseUrl, { app: pushApp.id, key: pushApp.key, secret: pushApp.secret }, method, path, options);
    conforms(method, template, res.status, res.body);
    return res;
  }

  async function plain(template: string): Promise<void> {
    const res = await fetch(`${h.herald.baseUrl}${template}`);
    const text = await res.text();
    conforms('GET', template, res.status, text === '' ? undefined : JSON.parse(text));
  }

  it('Pusher API routes answer what the document says, errors included', async () => {
    assert.equal((await call('POST', '/apps/{appId}/events', '/events', { body: { name: 'e', channel: 'presence-room', data: '{}', info: 'user_count,subscription_count' } })).status, 200);
    assert.equal((await call('POST', '/apps/{appId}/events', '/events', { body: { name: 'e', channel: 'news', data: '{}' } })).status, 200);
    assert.equal((await call('POST', '/apps/{appId}/events', '/events', { body: { name: 'e', data: '{}' } })).status, 400);
    assert.equal((await call('POST', '/apps/{appId}/batch_events', '/batch_events', { body: { batch: [{ name: 'e', channel: 'presence-room', data: 'x', info: 'user_count' }] } })).status, 200);
    assert.equal((await call('GET', '/apps/{appId}/channels', '/channels', { params: { filter_by_prefix: 'presence-', info: 'user_count' } })).status, 200);
    assert.equal((await call('GET', '/apps/{appId}/channels/{channelName}', '/channels/presence-room', { params: { info: 'user_count,subscription_count' } })).status, 200);
    assert.equal((await call('GET', '/apps/{appId}/channels/{channelName}/users', '/channels/presence-room/users')).status, 200);
    assert.equal((await call('GET', '/apps/{appId}/channels/{channelName}/users', '/channels/news/users')).status, 400);
    assert.equal((await call('POST', '/apps/{appId}/users/{userId}/terminate_connections', '/users/u-2/terminate_connections', { body: {} })).status, 200);
    // Signed wrongly: 401; an unknown app: 404.
    const forged = await signedRequest(h.herald.baseUrl, { app: pushApp.id, key: pushApp.key, secret: 'wrong-secret-000' }, 'GET', '/channels');
    conforms('GET', '/apps/{appId}/channels', forged.status, forged.body);
    assert.equal(forged.status, 401);
    const unknown = await signedRequest(h.herald.baseUrl, { app: 'no-such-app', key: pushApp.key, secret: pushApp.secret }, 'GET', '/channels');
    conforms('GET', '/apps/{appId}/channels', unknown.status, unknown.body);
    assert.equal(unknown.status, 404);
  });

  it('notification routes answer what the document says: send, repeat, status, cancel, refusals', async () => {
    const body = { v: 1, app: pushApp.id, id: 'oa-1', apns: { tokens: [deviceToken()], payload: { aps: { alert: 'hi' } } }, realtime: { channels: ['news'], event: 'e', data: { a: 1 } } };
    assert.equal((await call('POST', '/apps/{appId}/notifications', '/notifications', { body })).status, 202);
    assert.equal((await call('POST', '/apps/{appId}/notifications', '/notifications', { body })).status, 200);
    assert.equal((await call('POST', '/apps/{appId}/notifications', '/notifications', { body: { v: 1, app: pushApp.id } })).status, 400);
    await h.finished('oa-1');
    assert.equal((await call('GET', '/apps/{appId}/notifications/{nid}', '/notifications/oa-1')).status, 200);
    assert.equal((await call('GET', '/apps/{appId}/notifications/{nid}', '/notifications/never')).status, 404);
    assert.equal((await call('DELETE', '/apps/{appId}/notifications/{nid}', '/notifications/oa-1')).status, 409);
    const later = { v: 1, app: pushApp.id, id: 'oa-later', sendAt: new Date(Date.now() + 3_600_000).toISOString(), realtime: { channels: ['news'], event: 'e', data: 1 } };
    assert.equal((await call('POST', '/apps/{appId}/notifications', '/notifications', { body: later })).status, 202);
    assert.equal((await call('GET', '/apps/{appId}/notifications/{nid}', '/notifications/oa-later')).status, 200);
    assert.equal((await call('DELETE', '/apps/{appId}/notifications/{nid}', '/notifications/oa-later')).status, 204);
    assert.equal((await call('GET', '/apps/{appId}/notifications/{nid}', '/notifications/oa-later')).status, 200);
    assert.equal((await call('DELETE', '/apps/{appId}/notifications/{nid}', '/notifications/never')).status, 404);
  });

  it('device routes answer what the document says: register, again, read, list, remove, refusals', async () => {
    const token = deviceToken();
    const device = { userId: 'u-9', platform: 'apns', interests: ['news'] };
    assert.equal((await call('PUT', '/apps/{appId}/devices/{token}', `/devices/${token}`, { body: device })).status, 201);
    assert.equal((await call('PUT', '/apps/{appId}/devices/{token}', `/devices/${token}`, { body: device })).status, 200);
    assert.equal((await call('PUT', '/apps/{appId}/devices/{token}', `/devices/${token}`, { body: { ...device, extra: 1 } })).status, 400);
    assert.equal((await call('GET', '/apps/{appId}/devices/{token}', `/devices/${token}`)).status, 200);
    assert.equal((await call('GET', '/apps/{appId}/users/{userId}/devices', '/users/u-9/devices')).status, 200);
    assert.equal((await call('DELETE', '/apps/{appId}/devices/{token}', `/devices/${token}`)).status, 204);
    assert.equal((await call('GET', '/apps/{appId}/devices/{token}', `/devices/${token}`)).status, 404);
    assert.equal((await call('DELETE', '/apps/{appId}/users/{userId}/devices', '/users/u-9/devices')).status, 204);
  });

  it('dead letters, health, readiness and the document itself answer what the document says', async () => {
    assert.equal((await call('GET', '/apps/{appId}/webhooks/dead-letters', '/webhooks/dead-letters')).status, 200);
    assert.equal((await call('GET', '/apps/{appId}/webhooks/dead-letters', '/webhooks/dead-letters', { params: { limit: '0' } })).status, 400);
    assert.equal((await call('POST', '/apps/{appId}/webhooks/dead-letters/replay', '/webhooks/dead-letters/replay', { body: {} })).status, 200);
    await plain('/health');
    await plain('/ready');
    await plain('/openapi.json');
    const served = await (await fetch(`${h.herald.baseUrl}/openapi.json`)).json();
    assert.deepEqual(served, committed, 'the daemon serves the committed document');
  });

  it('checked every documented route at least once', () => {
    const documented = Object.entries(committed.paths).flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`));
    const seen = new Set([...checked].map((entry) => entry.split(' ').slice(0, 2).join(' ')));
    assert.deepEqual(documented.filter((route) => !seen.has(route)), []);
  });
});
