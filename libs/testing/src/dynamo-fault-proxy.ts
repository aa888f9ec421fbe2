import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ThrottleError = 'ProvisionedThroughputExceededException' | 'ThrottlingException';

/** Faults injected into DynamoDB calls. Call numbers count BatchWriteItem calls only, from 1. */
export interface DynamoFaults {
  /** Answer BatchWriteItem call n with this error (HTTP 400, DynamoDB's JSON error body) instead of forwarding it. */
  throttle?: (call: number) => ThrottleError | null;
  /**
   * Fraction (0–1) of the items of BatchWriteItem call n to leave unprocessed: the last
   * ceil(fraction × items) are not forwarded and come back in UnprocessedItems.
   */
  unprocessed?: (call: number) => number;
  /** Reverse the key order of every map (and item) in read responses: DynamoDB promises no order. */
  reverseMapKeys?: boolean;
}

/** What the proxy saw of one BatchWriteItem call. */
export interface BatchWriteCall {
  call: number;
  /** Date.now() when the request arrived. */
  at: number;
  items: number;
  /** Identity of each item's key (table + key attributes), in request order. */
  keys: string[];
  /** Whether some key appears twice in the call (DynamoDB would reject it). */
  duplicateKeys: boolean;
  throttled: ThrottleError | null;
  /** Items returned as UnprocessedItems by the proxy. */
  unprocessed: number;
}

export interface DynamoFaultProxy {
  endpoint: string;
  /** Every BatchWriteItem call, in arrival order. */
  batchWrites: BatchWriteCall[];
  /** Every request's X-Amz-Target operation (GetItem, Query, …), in arrival order. */
  operations: string[];
  /** Replace the faults; call numbering starts again at 1. */
  setFaults(faults: DynamoFaults): void;
  /** Forget what was recorded (and restart call numbering). */
  reset(): void;
  stop(): Promise<void>;
}

/** Attributes that identify an item of CityFlow's tables (metrics: metric_type/date; reports: report_id/date). */
const KEY_ATTRIBUTES = ['metric_type', 'report_id', 'date'];

type Json = Record<string, unknown>;
interface WriteRequestJson {
  PutRequest?: { Item: Record<string, unknown> };
  DeleteRequest?: { Key: Record<string, unknown> };
}

function keyOf(table: string, req: WriteRequestJson): string {
  const item = req.PutRequest?.Item ?? req.DeleteRequest?.Key ?? {};
  return JSON.stringify([table, ...KEY_ATTRIBUTES.map((k) => item[k] ?? null)]);
}

function reverseAttribute(av: unknown): unknown {
  if (!av || typeof av !== 'object') return av;
  const a = av as Json;
  if (a.M && typeof a.M === 'object') return { M: reverseItem(a.M as Json) };
  if (Array.isArray(a.L)) return { L: a.L.map(reverseAttribute) };
  return av;
}

function reverseItem(item: Json): Json {
  const out: Json = {};
  for (const k of Object.keys(item).reverse()) Object.defineProperty(out, k, { value: reverseAttribute(item[k]), enumerable: true, writable: true, configurable: true });
  return out;
}

/** Reorder the items of a GetItem/Query/Scan/BatchGetItem response. */
function reverseResponse(body: Json): Json {
  if (body.Item) body.Item = reverseItem(body.Item as Json);
  if (Array.isArray(body.Items)) body.Items = (body.Items as Json[]).map(reverseItem);
  if (body.Responses && typeof body.Responses === 'object') {
    for (const [table, items] of Object.entries(body.Responses as Record<string, Json[]>)) (body.Responses as Json)[table] = items.map(reverseItem);
  }
  return body;
}

function readBody(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/**
 * An HTTP proxy in front of a DynamoDB endpoint (dynalite) that injects the faults real DynamoDB
 * produces under load: BatchWriteItem throttling errors and partial batches (UnprocessedItems),
 * and maps returned in another key order. The SDK signs requests for the proxy's host; dynalite
 * does not check signatures, so bodies are forwarded as they are.
 */
export async function startDynamoFaultProxy(target: string, faults: DynamoFaults = {}): Promise<DynamoFaultProxy> {
  const upstream = new URL(target);
  let current = faults;
  let calls = 0;
  const batchWrites: BatchWriteCall[] = [];
  const operations: string[] = [];

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
      const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, async (res) => {
        try {
          resolve({ status: res.statusCode ?? 500, headers: res.headers, body: await readBody(res) });
        } catch (e) {
          reject(e);
        }
      });
      up.on('error', reject);
      up.end(body);
    });

  const send = (res: http.ServerResponse, status: number, headers: http.IncomingHttpHeaders, body: Buffer) => {
    const out: http.OutgoingHttpHeaders = { ...headers, 'content-length': String(body.length) };
    // The body may have been rewritten: its checksum would no longer match.
    delete out['x-amz-crc32'];
    delete out['transfer-encoding'];
    res.writeHead(status, out);
    res.end(body);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = await readBody(req);
    const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    operations.push(op);

    if (op === 'BatchWriteItem') {
      const call = ++calls;
      const request = JSON.parse(body.toString('utf8')) as { RequestItems: Record<string, WriteRequestJson[]> } & Json;
      const keys = Object.entries(request.RequestItems).flatMap(([table, reqs]) => reqs.map((r) => keyOf(table, r)));
      const record: BatchWriteCall = { call, at: Date.now(), items: keys.length, keys, duplicateKeys: new Set(keys).size !== keys.length, throttled: null, unprocessed: 0 };
      batchWrites.push(record);

      const throttled = current.throttle?.(call) ?? null;
      if (throttled) {
        record.throttled = throttled;
        const error = { __type: `com.amazonaws.dynamodb.v20120810#${throttled}`, message: 'The level of configured provisioned throughput for the table was exceeded (injected by the test proxy)' };
        return send(res, 400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `proxy-${call}` }, Buffer.from(JSON.stringify(error)));
      }

      const fraction = Math.min(1, Math.max(0, current.unprocessed?.(call) ?? 0));
      if (fraction > 0) {
        // Keep the last ceil(fraction × n) items of the call back, table by table in request order.
        let hold = Math.ceil(fraction * keys.length);
        record.unprocessed = hold;
        const forwarded: Record<string, WriteRequestJson[]> = {};
        const heldBack: Record<string, WriteRequestJson[]> = {};
        const tables = Object.entries(request.RequestItems).reverse();
        for (const [table, reqs] of tables) {
          const back = Math.min(hold, reqs.length);
          hold -= back;
          if (reqs.length - back) forwarded[table] = reqs.slice(0, reqs.length - back);
          if (back) heldBack[table] = reqs.slice(reqs.length - back);
        }
        let response: Json = { UnprocessedItems: {} };
        let status = 200;
        let headers: http.IncomingHttpHeaders = { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `proxy-${call}` };
        if (Object.keys(forwarded).length) {
          const up = await forward(req, Buffer.from(JSON.stringify({ ...request, RequestItems: forwarded })));
          if (up.status !== 200) return send(res, up.status, up.headers, up.body);
          response = JSON.parse(up.body.toString('utf8')) as Json;
          status = up.status;
          headers = up.headers;
        }
        const unprocessed = (response.UnprocessedItems ?? {}) as Record<string, WriteRequestJson[]>;
        for (const [table, reqs] of Object.entries(heldBack)) unprocessed[table] = [...(unprocessed[table] ?? []), ...reqs];
        response.UnprocessedItems = unprocessed;
        return send(res, status, headers, Buffer.from(JSON.stringify(response)));
      }
    }

    const up = await forward(req, body);
    const reads = ['GetItem', 'Query', 'Scan', 'BatchGetItem'];
    if (current.reverseMapKeys && up.status === 200 && reads.includes(op)) {
      const rewritten = reverseResponse(JSON.parse(up.body.toString('utf8')) as Json);
      return send(res, up.status, up.headers, Buffer.from(JSON.stringify(rewritten)));
    }
    return send(res, up.status, up.headers, up.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy error: ${e.message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    batchWrites,
    operations,
    setFaults(f: DynamoFaults) {
      current = f;
      calls = 0;
    },
    reset() {
      batchWrites.length = 0;
      operations.length = 0;
      calls = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
