import { randomInt } from 'node:crypto';
import { afterEach } from 'node:test';

/**
 * One seed per run of a fuzz file: every run explores new inputs, and any run can be
 * replayed exactly with HERALD_FUZZ_SEED=<seed>. Importing this module makes every
 * failing test of the file print the seed.
 */
function chooseSeed(): number {
  const given = process.env.HERALD_FUZZ_SEED;
  if (given === undefined || given === '') return randomInt(0, 2 ** 31 - 16);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed)) throw new Error(`HERALD_FUZZ_SEED must be an integer, not ${given}`);
  return seed;
}

export const fuzzSeed = chooseSeed();

afterEach((t) => {
  if (!(t as { passed?: boolean }).passed) console.log(`fuzz seed ${fuzzSeed} — replay: HERALD_FUZZ_SEED=${fuzzSeed} node scripts/run-tests.mjs <this file>`);
});
