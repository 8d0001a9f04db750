import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchJson } from '../../src/notifications/status/op-batcher.js';

describe('batchJson', () => {
  it('is plain JSON of the ops when every string is well formed, non-ASCII and surrogate pairs included', () => {
    const batch = [['create', 1, ['app-a', '1700000000000', 'é', '\u{1F600}', 'a\\ud800']], ['firstSend', 1, ['5']]] as const;
    assert.equal(batchJson(batch), JSON.stringify(batch));
    assert.deepEqual(JSON.parse(batchJson(batch)), batch);
  });

  it('replaces a lone surrogate, high or low, with U+FFFD and leaves the rest as it was', () => {
    const json = batchJson([['record', 3, ['\ud800x', 'y\udc00', '\ud83d\ude00', 'a\\ud800']]]);
    assert.deepEqual(JSON.parse(json), [['record', 3, ['\ufffdx', 'y\ufffd', '\u{1F600}', 'a\\ud800']]]);
    assert.ok(!/\\ud[89a-f]/i.test(json.replace(/\\\\/g, '')), 'no surrogate escape is left for lua-cjson to refuse');
  });
});
