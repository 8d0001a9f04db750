import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Service } from '../lib/service.js';
import type { Metrics } from './metrics.js';

/** Serves GET /metrics on its own port, so scraping never competes with the API's routes or limits. */
export class MetricsServer implements Service {
  readonly name = 'metrics';
  private server: Server | undefined;
  private boundPort = 0;

  constructor(private readonly options: { host: string; port: number; metrics: Metrics; onScrape?: () => Promise<void> }) {}

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const { metrics } = this.options;
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      this.collect()
        .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
        .catch((err: Error) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message })));
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = this.server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.options.port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async collect(): Promise<string> {
    await this.options.onScrape?.();
    return this.options.metrics.registry.metrics();
  }
}
