import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_TOKEN_HEX, MIN_TOKEN_HEX, normalizeToken } from '../../src/lib/apns-tokens.js';

const hex64 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('device token normalization', () => {
  it('strips spaces and angle brackets and lower-cases, the way tokens are copied from Xcode', () => {
    const decorated = `<${hex64.toUpperCase().match(/.{8}/g)?.join(' ')}>`;
    assert.deepEqual(normalizeToken(decorated), { ok: true, token: hex64 });
    assert.deepEqual(normalizeToken(` ${hex64}\n`), { ok: true, token: hex64 });
    assert.deepEqual(normalizeToken(hex64), { ok: true, token: hex64 });
  });

  it('accepts any even-length hex within the bounds (Apple documents variable length)', () => {
    assert.equal(normalizeToken('ab'.repeat(MIN_TOKEN_HEX / 2)).ok, true);
    assert.equal(normalizeToken('ab'.repeat(MAX_TOKEN_HEX / 2)).ok, true);
    assert.equal(normalizeToken('ab'.repeat(50)).ok, true);
  });

  const refused: Array<[unknown, RegExp]> = [
    ['', /empty/],
    ['<  >', /empty/],
    [`${hex64.slice(1)}`, /odd number of hex digits \(63\)/],
    [`${hex64.slice(2)}zz`, /hexadecimal/],
    [`${hex64}-`, /hexadecimal/],
    ['ab'.repeat(MIN_TOKEN_HEX / 2 - 1), /32 to 400 hex digits, got 30/],
    ['ab'.repeat(MAX_TOKEN_HEX / 2 + 1), /got 402/],
    [42, /must be a string, got number/],
    [undefined, /must be a string/],
  ];
  for (const [raw, message] of refused) {
    it(`refuses ${JSON.stringify(raw)?.slice(0, 40) ?? String(raw)}`, () => {
      const result = normalizeToken(raw);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.detail, message);
    });
  }

  it('property: any token bytes, however decorated, normalize to their lower-case hex', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: MIN_TOKEN_HEX / 2, maxLength: MAX_TOKEN_HEX / 2 }),
        fc.array(fc.constantFrom(' ', '<', '>', '\t'), { maxLength: 20 }),
        fc.boolean(),
        (bytes, noise, upper) => {
          const hex = Buffer.from(bytes).toString('hex');
          let decorated = upper ? hex.toUpperCase() : hex;
          for (const [i, char] of noise.entries()) {
            const at = (i * 7919) % (decorated.length + 1);
            decorated = decorated.slice(0, at) + char + decorated.slice(at);
          }
          assert.deepEqual(normalizeToken(decorated), { ok: true, token: hex });
        },
      ),
    );
  });

  it('property: anything with a non-hex character is refused', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((s) => /[^0-9a-fA-F\s<>]/.test(s)), (raw) => {
        assert.equal(normalizeToken(raw).ok, false);
      }),
    );
  });
});
