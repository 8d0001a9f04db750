import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { memberSpan } from '../../src/gateway/raw-json.js';
import { rawJsonTooDeep } from '../../src/lib/json-depth.js';

/** The gateway's user_info depth check: the shared raw scan over the text's bytes. */
const nestsDeeperThan = (text: string, maxDepth: number): boolean => rawJsonTooDeep(Buffer.from(text), maxDepth) !== undefined;

const dataText = (text: string): string | undefined => {
  const bytes = Buffer.from(text);
  const span = memberSpan(bytes, 'data');
  return span && bytes.toString('utf8', span.start, span.end);
};

describe('raw JSON: the data member as received', () => {
  it('finds the value exactly as written, whitespace and escapes included', () => {
    assert.equal(dataText('{"event":"client-x","data":{"a" : [1, "}]\\"{"]}}'), '{"a" : [1, "}]\\"{"]}');
    assert.equal(dataText('{ "data" :\t"str\\"ing" , "event":"x" }'), '"str\\"ing"');
    assert.equal(dataText('{"data":-1.5e3}'), '-1.5e3');
    assert.equal(dataText('{"data":null,"x":1}'), 'null');
    assert.equal(dataText('{"event":"x"}'), undefined);
    assert.equal(dataText('{}'), undefined);
  });

  it('takes the last of duplicate keys and decodes escaped key names, as JSON.parse does', () => {
    assert.equal(dataText('{"data":1,"data":2}'), '2');
    assert.equal(dataText('{"d\\u0061ta":[3]}'), '[3]');
    assert.equal(dataText('{"datum":1,"data\\"":2}'), undefined);
    assert.equal(dataText('{"é":"ü","data":"ß"}'), '"ß"');
  });

  it('walks 50,000 levels of nesting without recursion', () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    assert.equal(dataText(`{"data":${deep},"event":"client-x"}`)?.length, deep.length);
    assert.equal(nestsDeeperThan(`{"a":${deep}}`, 64), true);
  });

  it('agrees with JSON.parse on generated objects', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.constant('data'), fc.constant('event'), fc.string()), fc.jsonValue({ maxDepth: 4 })), fc.constantFrom('', ' ', '\n\t '), (object, space) => {
        const text = JSON.stringify(object, null, space);
        const expected = Object.prototype.hasOwnProperty.call(object, 'data') ? JSON.stringify(object.data) : undefined;
        const found = dataText(text);
        assert.equal(found === undefined ? undefined : JSON.stringify(JSON.parse(found)), expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('measures nesting outside strings only', () => {
    assert.equal(nestsDeeperThan('{"a":{"b":[1]}}', 3), false);
    assert.equal(nestsDeeperThan('{"a":{"b":[[1]]}}', 3), true);
    assert.equal(nestsDeeperThan(`{"a":"${'['.repeat(100)}"}`, 2), false);
    assert.equal(nestsDeeperThan('{"a":"\\"[[[[[["}', 1), false);
  });
});
