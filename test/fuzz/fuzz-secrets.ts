import fc from 'fast-check';

/**
 * Secrets planted in fuzz inputs carry a marker no real text contains, so any echo of
 * one — whole or as a 10-character window, as parsers quote fragments — is found.
 */
export const SECRET_MARKER = 'sEcReT';

export const plantedSecret = (minHex = 10): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: minHex, maxLength: minHex + 16 }).map((hex) => `${SECRET_MARKER}${hex}`);

/** The planted secrets (whole or any 10-character window of one) found in `text`. */
export function leakedSecrets(text: string, secrets: Iterable<string>): string[] {
  const leaks: string[] = [];
  for (const secret of secrets) {
    if (secret.length < 10 && text.includes(secret)) leaks.push(secret);
    for (let start = 0; start + 10 <= secret.length; start++) {
      if (text.includes(secret.slice(start, start + 10))) {
        leaks.push(secret);
        break;
      }
    }
  }
  return leaks;
}

/** Every string in a JSON-like value whose text begins with the marker. */
export function secretsIn(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') {
    for (const match of value.matchAll(new RegExp(`${SECRET_MARKER}[0-9a-f]+`, 'g'))) found.add(match[0]);
  } else if (Array.isArray(value)) {
    for (const item of value) secretsIn(item, found);
  } else if (value && typeof value === 'object') {
    for (const item of Object.values(value)) secretsIn(item, found);
  }
  return found;
}
