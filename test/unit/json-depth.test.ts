import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_JSON_DEPTH, formatJsonPath, rawJsonTooDeep, valueTooDeep } from '../../src/lib/json-depth.js';
import { serializeJson } from '../../src/lib/safe-json.js';

const raw = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('rawJsonTooDeep', () => {
  it('passes JSON at the limit and names the first container past it', () => {
    assert.equal(rawJsonTooDeep(raw(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)), undefined);
    assert.deepEqual(rawJsonTooDeep(raw('{"a":{"b":[1,2,{"c":[[]]}]}}'), 4), { path: 'a.b[2].c' });
    assert.deepEqual(rawJsonTooDeep(raw('{"a":{"b":[1,2,{"c":[[]]}]}}'), 5), { path: 'a.b[2].c[0]' });
  });

  it('ignores brackets, quotes and escapes inside strings and decodes escaped keys', () => {
    assert.equal(rawJsonTooDeep(raw('{"x":"[[[[{{{{\\"[[[[","y":["]]]]"]}'), 3), undefined);
    assert.deepEqual(rawJsonTooDeep(raw('{"k\\u00e9\\"y":{"z":[[]]}}'), 3), { path: '["ké\\"y"].z[0]' });
  });

  it('handles keys after commas and a 100,000-deep body without recursion', () => {
    assert.deepEqual(rawJsonTooDeep(raw('{"a":1,"b":{"c":2,"d":[{}]}}'), 3), { path: 'b.d[0]' });
    const deep = raw(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    assert.deepEqual(rawJsonTooDeep(deep), { path: '[0]'.repeat(MAX_JSON_DEPTH) });
  });
});

describe('valueTooDeep', () => {
  it('agrees with the raw scan on parsed values', () => {
    const text = '{"a":{"b":[1,2,{"c":[[]]}]}}';
    for (const max of [1, 2, 3, 4, 5, 6]) assert.deepEqual(valueTooDeep(JSON.parse(text), max), rawJsonTooDeep(raw(text), max), `max ${max}`);
    assert.equal(valueTooDeep('text'), undefined);
  });

  it('walks 100,000 levels (which JSON.stringify cannot) without recursion', () => {
    const deep: unknown = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    assert.ok(valueTooDeep(deep));
    assert.equal(serializeJson(deep).ok, false);
  });
});

describe('serializeJson', () => {
  it('returns problems instead of throwing', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.deepEqual(serializeJson({ a: [1] }), { ok: true, json: '{"a":[1]}' });
    assert.equal(serializeJson(cyclic).ok, false);
    assert.equal(serializeJson(10n).ok, false);
    assert.equal(serializeJson(undefined).ok, false);
  });

  it('shortens long paths in the middle', () => {
    const path = formatJsonPath(Array.from({ length: 200 }, () => 'key'));
    assert.equal(path.length, 256);
    assert.match(path, /^key\.key.*….*key$/);
  });
});
