import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replayId } from '../../src/http/replay-id.js';

// The id of a signed request without one must not change between releases: a request
// replayed across an upgrade names the notification the first copy made.
describe('replayId', () => {
  it('is s- and the first 32 base64url characters of the SHA-256 of auth_signature', () => {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de … (FIPS 180-2's first example).
    assert.equal(replayId({ auth_signature: 'abc' }), 's-ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qc');
  });

  it('is undefined without a signature', () => {
    assert.equal(replayId({}), undefined);
    assert.equal(replayId({ auth_signature: '' }), undefined);
    assert.equal(replayId({ auth_signature: ['a', 'b'] }), undefined);
    assert.equal(replayId(undefined), undefined);
  });
});
