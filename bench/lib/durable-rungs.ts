/** The rungs of the durable ladder, each one layer of Herald's over the one before (bench/lib/durable-gateway-worker.ts). */
export const RUNGS = ['floor', 'signature', 'validation', 'bullmq', 'status'] as const;
export type Rung = (typeof RUNGS)[number];
