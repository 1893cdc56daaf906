import net from 'node:net';

/**
 * A TCP proxy between the app and MySQL that a test can cut and restore: `cut('refuse')` closes every
 * connection and refuses new ones (server down), `cut('blackhole')` closes every connection and
 * accepts new ones without ever answering (host unreachable behind a firewall).
 */
export class FaultyProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private mode: 'open' | 'blackhole' = 'open';
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = net.createServer(client => this.accept(client));
    await new Promise<void>(resolve => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket) {
    this.track(client);
    if (this.mode === 'blackhole') return;
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.track(upstream);
    client.pipe(upstream).pipe(client);
  }

  private track(socket: net.Socket) {
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  async cut(mode: 'refuse' | 'blackhole'): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (mode === 'blackhole') {
      this.mode = 'blackhole';
      return;
    }
    await this.stop();
  }

  async restore(): Promise<void> {
    this.mode = 'open';
    if (!this.server?.listening) await this.start();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server?.listening) await new Promise(resolve => server.close(resolve));
  }
}
