import { createRequire } from 'node:module';

/** The part of autocannon's options and result the benches use (the package ships no types). */
export interface AutocannonOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  duration: number;
  pipelining?: number;
}

interface Histogram {
  average: number;
  p50: number;
  p99: number;
  max: number;
  total: number;
}

export interface AutocannonResult {
  requests: Histogram;
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>;

export function runAutocannon(options: AutocannonOptions): Promise<AutocannonResult> {
  return autocannon(options);
}
