/**
 * The node flags the daemon is deployed with, read from `npm start` (the Dockerfile's
 * CMD carries the same, test/unit/container.test.ts): benches run Herald as deployed.
 */
export function daemonNodeFlags(startScript: string): string[] {
  const words = startScript.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`npm start does not run node: ${startScript}`);
  const entry = words.findIndex((word, index) => index > 0 && !word.startsWith('-'));
  return words.slice(1, entry < 0 ? words.length : entry);
}
