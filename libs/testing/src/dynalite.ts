import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export * from './dynamo-fault-proxy';

export interface RunningDynalite {
  /** `http://127.0.0.1:<port>`: pass as the DynamoDB endpoint. */
  endpoint: string;
  stop(): Promise<void>;
}

type DynaliteFactory = (opts: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;

/**
 * An in-process, in-memory DynamoDB (dynalite) on a free loopback port. Tables become ACTIVE at
 * once. It does not check request signatures, so any credentials work.
 */
export async function startDynalite(): Promise<RunningDynalite> {
  // dynalite ships no type declarations.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets of SDK clients would hold close() open.
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
