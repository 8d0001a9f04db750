import { randomBytes } from 'node:crypto';

/**
 * `<digits>.<digits>` as every Pusher SDK expects (`^\d+\.\d+$`). 96 random bits
 * make ids unique across a cluster without coordination; the gateway still
 * re-draws on the (astronomically unlikely) local collision.
 */
export function createSocketId(): string {
  const bytes = randomBytes(12);
  return `${bytes.readUIntBE(0, 6)}.${bytes.readUIntBE(6, 6)}`;
}

export const socketIdPattern = /^\d+\.\d+$/;
