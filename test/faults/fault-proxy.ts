import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';
import type { TestCredentials } from '../helpers/certs.js';

/**
 * A TCP hop in front of the APNs mock. The first `failHandshakes` connections go to a TLS
 * server whose certificate Herald does not trust (its CA is another one), so their
 * handshakes fail; later connections reach the mock.
 */
export class HandshakeFaultProxy {
  private readonly sockets = new Set<Socket>();
  handshakesFailed = 0;

  private constructor(
    private readonly server: Server,
    private readonly impostor: TlsServer,
    private readonly impostorPort: number,
    private readonly upstreamPort: number,
    private failHandshakes: number,
    readonly port: number,
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  static async start(credentials: TestCredentials, upstreamPort: number, failHandshakes: number): Promise<HandshakeFaultProxy> {
    const impostor = createTlsServer({ key: readFileSync(credentials.otherCaClientKeyPath), cert: readFileSync(credentials.otherCaClientCertPath), ALPNProtocols: ['h2'] });
    impostor.on('tlsClientError', () => {});
    const impostorPort = await listen(impostor);
    const server = createServer({ noDelay: true });
    const port = await listen(server);
    return new HandshakeFaultProxy(server, impostor, impostorPort, upstreamPort, failHandshakes, port);
  }

  private accept(client: Socket): void {
    const failing = this.failHandshakes > 0;
    if (failing) {
      this.failHandshakes--;
      this.handshakesFailed++;
    }
    const upstream = connect(failing ? this.impostorPort : this.upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([new Promise<void>((resolve) => this.server.close(() => resolve())), new Promise<void>((resolve) => this.impostor.close(() => resolve()))]);
  }
}

function listen(server: Server | TlsServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}
