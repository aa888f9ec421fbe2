/**
 * A TCP proxy for HTTP/1.1 in front of a test server that can stall a response body mid-stream:
 * the response's first bytes are passed on, then nothing more, with the connection left open
 * (what a half-dead connection or a stuck load balancer looks like to a client). It also counts
 * the client connections currently open, to check that a client closes what it abandons.
 */
import * as net from 'node:net';

export interface StallRule {
  /** Which request's response to stall: tested against the request head (request line and headers). */
  match: (requestHead: string) => boolean;
  /** Body bytes passed on before the stall. */
  afterBodyBytes: number;
  /** Responses to stall (default 1). */
  times?: number;
}

export interface StallProxy {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  /** Stall the responses of the next requests matching `rule.match`. */
  stall(rule: StallRule): void;
  /** Client connections currently open. */
  openConnections(): number;
  /** Responses stalled so far. */
  stalledResponses(): number;
  /** Stalled connections the client has closed since. */
  closedStalledConnections(): number;
  close(): Promise<void>;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export async function startStallProxy(target: { host: string; port: number }): Promise<StallProxy> {
  const sockets = new Set<net.Socket>();
  let rule: (StallRule & { left: number }) | null = null;
  let stalled = 0;
  let closedStalled = 0;

  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(target.port, target.host);
    // Per connection: whether the response to the current request is to be stalled, and where it is.
    let armed = false;
    let inBody = false;
    let head = Buffer.alloc(0);
    let bodyLeft = 0;
    let isStalled = false;

    client.on('data', (data) => {
      if (rule && rule.left > 0 && rule.match(data.toString('latin1'))) {
        rule.left--;
        armed = true;
        inBody = false;
        head = Buffer.alloc(0);
        bodyLeft = rule.afterBodyBytes;
      }
      upstream.write(data);
    });
    upstream.on('data', (data) => {
      if (isStalled) return;
      if (!armed) {
        client.write(data);
        return;
      }
      let rest = data;
      if (!inBody) {
        head = Buffer.concat([head, data]);
        const end = head.indexOf(HEADER_END);
        if (end < 0) {
          client.write(data);
          return;
        }
        inBody = true;
        const bodyStart = end + HEADER_END.length;
        // Pass the part of this packet up to the body start; keep the body bytes in `rest`.
        const headPart = data.length - (head.length - bodyStart);
        client.write(data.subarray(0, headPart));
        rest = data.subarray(headPart);
      }
      const pass = Math.min(bodyLeft, rest.length);
      if (pass > 0) client.write(rest.subarray(0, pass));
      bodyLeft -= pass;
      if (bodyLeft === 0) {
        isStalled = true;
        armed = false;
        stalled++;
        upstream.pause();
      }
    });
    const closeBoth = () => {
      if (sockets.delete(client) && isStalled) closedStalled++;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('close', () => {
      // A stalled response keeps its client connection open, as a stuck peer would.
      if (!isStalled) closeBoth();
    });
    upstream.on('error', () => {
      if (!isStalled) closeBoth();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stall(r) {
      rule = { ...r, left: r.times ?? 1 };
    },
    openConnections: () => sockets.size,
    stalledResponses: () => stalled,
    closedStalledConnections: () => closedStalled,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
