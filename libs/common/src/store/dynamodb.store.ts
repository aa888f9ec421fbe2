/**
 * DynamoDB store. Item layout (compatible with the old tables where it applies):
 *
 * Metrics table (partition key `metric_type` S, sort key `date` S):
 * | metric_type                               | date                      | item                                                      |
 * |-------------------------------------------|---------------------------|-----------------------------------------------------------|
 * | `<type>` (comptages, bikes, …)            | `YYYY-MM-DD`              | `{metric_type, date, timestamp, metrics, content_hash, …}` |
 * | `_partial#<source>#<fileKey>#<chunk>`     | `YYYY-MM-DD` or `*`       | `{…, bytes (B)}` or, when large, `{…, parts}`             |
 * | `_chunk#<source>#<fileKey>`               | `<chunk index>`           | `{…, summary}`                                            |
 * | `_run`                                    | `<runId>`                 | `{…, run, created_at}`                                    |
 * | `_part#<owner partition key>`             | `<owner date>#<hash>#<n>` | one part of a split document or blob                      |
 *
 * Reports table (partition key `report_id` S, sort key `date` S):
 * `{report_id: "daily_report_<date>", date, timestamp, report, csv, content_hash, …}`.
 *
 * Internal partition keys start with `_`, which metric types may not, so `listMetricDates(type)`
 * is a Query of the type's partition that sees metric documents only.
 *
 * Large values: a document over the item budget (350 KiB, 400 KB being DynamoDB's limit) is split
 * by doc-split.ts into a head (the item above, with `parts` and `splits` saying what is elsewhere)
 * and parts; a partial over 350 KiB is cut into binary pieces. Parts are keyed by the SHA-256 of
 * the content (`content_hash`), so versions never mix: parts are written first, the head last,
 * and a reader only follows the head's hash. After a head replaces another, the old version's
 * parts are deleted. A reader that finds parts missing (an overwrite racing it) reads the head
 * again; if it still cannot assemble the document it throws InconsistentDocumentError rather than
 * answer part of it. A put whose content hash equals the stored one writes nothing (as FsStore
 * leaves an identical file untouched), so replays are cheap and keep the first `timestamp`.
 *
 * TTL: no item carries `ttl`. Metrics and reports are the product and must not expire silently,
 * and working state must not expire piecemeal (a chunk summary outliving its partials would make a
 * replayed run skip the chunk and then miss its partials). Items of the old system keep their own
 * `ttl`, which only matters if TTL is enabled on the table; this store never enables it.
 *
 * Reads are strongly consistent (ConsistentRead), as a file read is.
 */
import {
  AttributeValue,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  QueryCommandInput,
  ScanCommand,
  ScanCommandInput,
  TableDescription,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { Logger } from 'pino';
import { METRIC_TYPES } from '@cityflow/domain';
import { joinDoc, SplitPage, SplitRef, splitBytes, splitDoc } from './doc-split';
import { DynamoBatchWriter, TableWrite } from './dynamo-batch-writer';
import { decodeValue, dynamoSizeModel, encodeValue, itemSize, KeyOrderReader, KeyOrderWriter } from './dynamo-codec';
import { assertStorable, assertStorableBytes } from './storable';
import type { ChunkKey, RunRecord, Store } from './store';
import { DocumentTooLargeError, InconsistentDocumentError, StoreClosedError, StoreResourceMismatchError, StoreResourceMissingError } from './store-errors';
import { contentHash, DAY_RE, keyPart, metricTypeKey } from './stored-keys';

/** DynamoDB's limit for one item. */
export const DYNAMODB_ITEM_LIMIT = 400 * 1024;
/** What this store puts in one item at most: the limit less a margin for estimation. */
export const DYNAMODB_ITEM_BUDGET = 350 * 1024;
/** Parts of a superseded version whose head is unknown are deleted once this old (a concurrent writer's are younger). */
const STALE_PART_AGE_MS = 10 * 60_000;
/** Reads of a head and its parts before giving up on a document whose parts keep moving. */
const READ_ATTEMPTS = 3;

export interface DynamoDbStoreOptions {
  region: string;
  /** An emulator or VPC endpoint; the SDK's default when absent. */
  endpoint?: string;
  metricsTable: string;
  reportsTable: string;
  /** Calls one BatchWriteItem batch may take before DynamoWriteError. */
  maxAttempts: number;
  retryBaseMs: number;
  /** Create missing tables at init (PAY_PER_REQUEST); otherwise a missing table is StoreResourceMissingError. */
  createResources: boolean;
  log?: Logger;
  /** Bytes one item may hold (default DYNAMODB_ITEM_BUDGET); smaller values make tests split small documents. */
  itemBudget?: number;
}

/** Where one document or blob lives: its table and key; its parts live in the metrics table. */
interface Loc {
  table: string;
  keyNames: readonly [string, string];
  pk: string;
  sk: string;
  label: string;
}

const METRICS_KEYS = ['metric_type', 'date'] as const;
const REPORTS_KEYS = ['report_id', 'date'] as const;
const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });

type Item = Record<string, AttributeValue>;

export class DynamoDbStore implements Store {
  readonly kind = 'dynamodb';
  private readonly client: DynamoDBClient;
  /** BatchWriteItem only: no SDK retries, so the whole retry budget is the writer's (DYNAMODB_MAX_ATTEMPTS). */
  private readonly batchClient: DynamoDBClient;
  private readonly writer: DynamoBatchWriter;
  private readonly itemBudget: number;
  private closed = false;

  constructor(private readonly opts: DynamoDbStoreOptions) {
    const base = {
      region: opts.region,
      endpoint: opts.endpoint,
      // No request hangs forever on a dead connection.
      requestHandler: { connectionTimeout: 5000, requestTimeout: 30_000, throwOnRequestTimeout: true },
    };
    this.client = new DynamoDBClient(base);
    this.batchClient = new DynamoDBClient({ ...base, maxAttempts: 1 });
    this.writer = new DynamoBatchWriter(this.batchClient, { maxAttempts: opts.maxAttempts, retryBaseMs: opts.retryBaseMs, log: opts.log });
    this.itemBudget = opts.itemBudget ?? DYNAMODB_ITEM_BUDGET;
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  /** Check (or create, with createResources) both tables and wait until they are ACTIVE. */
  async init(): Promise<void> {
    const tables: [string, readonly [string, string]][] = [
      [this.opts.metricsTable, METRICS_KEYS],
      [this.opts.reportsTable, REPORTS_KEYS],
    ];
    const missing: string[] = [];
    for (const [table, keys] of tables) {
      const desc = await this.describe(table);
      if (desc) {
        this.checkKeySchema(table, desc, keys);
        if (desc.TableStatus !== 'ACTIVE') await this.waitActive(table);
        continue;
      }
      if (!this.opts.createResources) {
        missing.push(`DynamoDB table ${table} (partition key ${keys[0]} S, sort key ${keys[1]} S)`);
        continue;
      }
      try {
        await this.client.send(
          new CreateTableCommand({
            TableName: table,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: keys.map((k) => ({ AttributeName: k, AttributeType: 'S' })),
            KeySchema: [
              { AttributeName: keys[0], KeyType: 'HASH' },
              { AttributeName: keys[1], KeyType: 'RANGE' },
            ],
          }),
        );
        this.opts.log?.info({ table }, 'dynamodb table created');
      } catch (e) {
        // Another service created it at the same time: wait for it like for ours.
        if ((e as Error).name !== 'ResourceInUseException') throw e;
      }
      await this.waitActive(table);
      const created = await this.describe(table);
      if (created) this.checkKeySchema(table, created, keys);
    }
    if (missing.length) throw new StoreResourceMissingError(missing);
    this.opts.log?.info({ metricsTable: this.opts.metricsTable, reportsTable: this.opts.reportsTable }, 'dynamodb store ready');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.destroy();
    this.batchClient.destroy();
  }

  private async describe(table: string): Promise<TableDescription | null> {
    try {
      return (await this.client.send(new DescribeTableCommand({ TableName: table }))).Table ?? null;
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return null;
      throw e;
    }
  }

  private async waitActive(table: string): Promise<void> {
    await waitUntilTableExists({ client: this.client, maxWaitTime: 300, minDelay: 1, maxDelay: 5 }, { TableName: table });
  }

  private checkKeySchema(table: string, desc: TableDescription, keys: readonly [string, string]): void {
    const hash = desc.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const range = desc.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    const typeOf = (name?: string) => desc.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
    if (hash !== keys[0] || range !== keys[1] || typeOf(hash) !== 'S' || typeOf(range) !== 'S') {
      throw new StoreResourceMismatchError(
        `DynamoDB table ${table}`,
        `expected partition key ${keys[0]} (S) and sort key ${keys[1]} (S), found ${hash ?? 'none'} (${typeOf(hash) ?? '?'}) and ${range ?? 'none'} (${typeOf(range) ?? '?'})`,
      );
    }
  }

  private live(): void {
    if (this.closed) throw new StoreClosedError(this.kind);
  }

  // ───────────────────────────── locations ─────────────────────────────

  private metricsLoc(type: string, day: string): Loc {
    return { table: this.opts.metricsTable, keyNames: METRICS_KEYS, pk: metricTypeKey(type), sk: keyPart(day, 'day'), label: `metrics ${type}/${day}` };
  }
  private reportLoc(day: string): Loc {
    const d = keyPart(day, 'day');
    return { table: this.opts.reportsTable, keyNames: REPORTS_KEYS, pk: `daily_report_${d}`, sk: d, label: `report ${d}` };
  }
  private partialLoc(k: ChunkKey, day: string): Loc {
    const pk = `_partial#${keyPart(k.source, 'source')}#${keyPart(k.fileKey, 'file key')}#${keyPart(k.chunkIndex, 'chunk index')}`;
    return { table: this.opts.metricsTable, keyNames: METRICS_KEYS, pk, sk: keyPart(day, 'day'), label: `partial ${k.source}/${k.fileKey}/${k.chunkIndex}/${day}` };
  }
  private chunkLoc(k: ChunkKey): Loc {
    const pk = `_chunk#${keyPart(k.source, 'source')}#${keyPart(k.fileKey, 'file key')}`;
    return { table: this.opts.metricsTable, keyNames: METRICS_KEYS, pk, sk: keyPart(k.chunkIndex, 'chunk index'), label: `chunk ${k.source}/${k.fileKey}/${k.chunkIndex}` };
  }
  private runLoc(runId: string): Loc {
    return { table: this.opts.metricsTable, keyNames: METRICS_KEYS, pk: '_run', sk: keyPart(runId, 'run id'), label: `run ${runId}` };
  }

  private keyOf(loc: Loc): Item {
    return { [loc.keyNames[0]]: S(loc.pk), [loc.keyNames[1]]: S(loc.sk) };
  }
  private partKey(loc: Loc, hash: string, index: number): Item {
    return { metric_type: S(`_part#${loc.pk}`), date: S(`${loc.sk}#${hash}#${String(index).padStart(5, '0')}`) };
  }

  // ───────────────────────────── versioned writes ─────────────────────────────

  private checkSize(item: Item, loc: Loc): void {
    const size = itemSize(item);
    // The splitter keeps items within the budget; this guards the estimate itself.
    if (size > DYNAMODB_ITEM_LIMIT - 4096) throw new DocumentTooLargeError(`$ (${loc.label})`, size, DYNAMODB_ITEM_LIMIT - 4096);
  }

  /**
   * Write a head and its parts: skip when the stored head has the same content hash; otherwise
   * parts first, then the head, then delete the parts of the version it replaced.
   */
  private async writeVersioned(loc: Loc, hash: string, head: Item, parts: Item[]): Promise<void> {
    for (const item of [head, ...parts]) this.checkSize(item, loc);
    const prev = await this.getItem(loc, 'content_hash, parts');
    const prevHash = prev?.content_hash?.S;
    if (prevHash === hash) {
      this.opts.log?.debug({ key: loc.label }, 'dynamodb put skipped: content unchanged');
      return;
    }
    const partWrites = parts.map((put): TableWrite => ({ table: this.opts.metricsTable, keyNames: METRICS_KEYS, put }));
    await this.writer.writeAll(partWrites);
    await this.writer.writeAll([{ table: loc.table, keyNames: loc.keyNames, put: head }]);
    if (prev) await this.deleteStaleParts(loc, hash, prevHash);
  }

  /** Parts of `loc` that belong to neither the current version nor a write that may still be in flight. */
  private async deleteStaleParts(loc: Loc, current: string, previous: string | undefined): Promise<void> {
    const prefix = `${loc.sk}#`;
    const stale: TableWrite[] = [];
    const now = Date.now();
    for await (const item of this.query({
      TableName: this.opts.metricsTable,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'metric_type', '#sk': 'date', '#w': 'written_at' },
      ExpressionAttributeValues: { ':pk': S(`_part#${loc.pk}`), ':prefix': S(prefix) },
      ProjectionExpression: '#pk, #sk, #w',
    })) {
      const version = item.date.S!.slice(prefix.length).split('#')[0];
      if (version === current) continue;
      const writtenAt = Date.parse(item.written_at?.S ?? '');
      if (version === previous || !(now - writtenAt < STALE_PART_AGE_MS)) {
        stale.push({ table: this.opts.metricsTable, keyNames: METRICS_KEYS, delete: { metric_type: item.metric_type, date: item.date } });
      }
    }
    if (stale.length) {
      await this.writer.writeAll(stale);
      this.opts.log?.debug({ key: loc.label, deleted: stale.length }, 'dynamodb stale parts deleted');
    }
  }

  /**
   * Put a JSON document under `loc.table`'s `payload` attribute, with `attrs` beside it. `hashed`
   * names the attrs that are content (the report's csv): they are part of the content hash.
   */
  private async putDoc(loc: Loc, payload: string, doc: unknown, attrs: Item = {}, hashed: string[] = []): Promise<void> {
    this.live();
    assertStorable(doc);
    const hash = contentHash(JSON.stringify(doc), ...hashed.map((n) => attrs[n].S ?? ''));
    const now = new Date().toISOString();
    const headBase: Item = { ...this.keyOf(loc), timestamp: S(now), content_hash: S(hash), parts: N(0), ...attrs };
    const samplePart: Item = { ...this.partKey(loc, hash, 0), split: N(0), written_at: S(now), entries: { L: [] } };
    // Room left for the value once the other attributes (and their key_order) are counted.
    const headBudget = this.itemBudget - itemSize(headBase) - payload.length - 'key_order'.length - 64;
    if (headBudget < 1024) {
      // An attribute beside the document (the report's csv) leaves it no room: it is not split.
      const [name, value] = Object.entries(attrs).sort((a, b) => itemSize({ [b[0]]: b[1] }) - itemSize({ [a[0]]: a[1] }))[0];
      throw new DocumentTooLargeError(`${name} (${loc.label})`, itemSize({ [name]: value }), this.itemBudget - 1024);
    }
    const plan = splitDoc(doc, dynamoSizeModel, { headBudget, pageBudget: this.itemBudget - itemSize(samplePart) - 'key_order'.length - 64 });

    const parts = plan.pages.map((page, i) => {
      const order = new KeyOrderWriter();
      const item: Item = { ...this.partKey(loc, hash, i), split: N(page.split), written_at: S(now), entries: encodeValue(page.entries, order) };
      const ko = order.toText();
      if (ko) item.key_order = S(ko);
      return item;
    });
    const order = new KeyOrderWriter();
    const head: Item = { ...headBase, [payload]: encodeValue(plan.head, order) };
    const ko = order.toText();
    if (ko) head.key_order = S(ko);
    if (parts.length) {
      head.parts = N(parts.length);
      head.splits = S(JSON.stringify(plan.splits));
    }
    await this.writeVersioned(loc, hash, head, parts);
  }

  private async putBlob(loc: Loc, bytes: Uint8Array): Promise<void> {
    this.live();
    assertStorableBytes(bytes);
    const hash = contentHash(bytes);
    const now = new Date().toISOString();
    const head: Item = { ...this.keyOf(loc), timestamp: S(now), content_hash: S(hash), size: N(bytes.length), parts: N(0) };
    const pieceBytes = this.itemBudget - 1024;
    let parts: Item[] = [];
    if (bytes.length <= pieceBytes) head.bytes = { B: bytes };
    else {
      parts = splitBytes(bytes, pieceBytes).map((piece, i) => ({ ...this.partKey(loc, hash, i), written_at: S(now), bytes: { B: piece } }));
      head.parts = N(parts.length);
    }
    await this.writeVersioned(loc, hash, head, parts);
  }

  // ───────────────────────────── versioned reads ─────────────────────────────

  private async getItem(loc: Loc, projection?: string): Promise<Item | null> {
    const names: Record<string, string> = {};
    let expr: string | undefined;
    if (projection) {
      expr = projection
        .split(',')
        .map((p, i) => {
          names[`#p${i}`] = p.trim();
          return `#p${i}`;
        })
        .join(', ');
    }
    const out = await this.client.send(
      new GetItemCommand({ TableName: loc.table, Key: this.keyOf(loc), ConsistentRead: true, ProjectionExpression: expr, ExpressionAttributeNames: expr ? names : undefined }),
    );
    return out.Item ?? null;
  }

  private async *query(input: QueryCommandInput): AsyncGenerator<Item> {
    let start: Item | undefined;
    do {
      const out = await this.client.send(new QueryCommand({ ...input, ConsistentRead: true, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) yield item;
      start = out.LastEvaluatedKey;
    } while (start);
  }

  private async *scan(input: ScanCommandInput): AsyncGenerator<Item> {
    let start: Item | undefined;
    do {
      const out = await this.client.send(new ScanCommand({ ...input, ConsistentRead: true, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) yield item;
      start = out.LastEvaluatedKey;
    } while (start);
  }

  private async readParts(loc: Loc, hash: string): Promise<Item[]> {
    const parts: Item[] = [];
    for await (const item of this.query({
      TableName: this.opts.metricsTable,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'metric_type', '#sk': 'date' },
      ExpressionAttributeValues: { ':pk': S(`_part#${loc.pk}`), ':prefix': S(`${loc.sk}#${hash}#`) },
    })) {
      parts.push(item);
    }
    return parts;
  }

  /**
   * Read a head and, when it has parts, the parts of its version, and assemble them with
   * `assemble` (which throws InconsistentDocumentError when they do not fit). Parts missing because
   * an overwrite replaced the head meanwhile: read again, up to READ_ATTEMPTS times.
   */
  private async readVersioned<T>(loc: Loc, assemble: (head: Item, parts: Item[]) => T): Promise<{ head: Item; value: T } | null> {
    this.live();
    let lastHash: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const head = await this.getItem(loc);
      if (!head) return null;
      // An item without content_hash was written by the old system: whole, with no parts.
      const hash = head.content_hash?.S ?? '';
      const count = Number(head.parts?.N ?? 0);
      if (!hash && count) throw new InconsistentDocumentError(loc.label, 'the head has parts but no content_hash');
      const parts = count > 0 ? await this.readParts(loc, hash) : [];
      try {
        if (parts.length !== count) throw new InconsistentDocumentError(loc.label, `found ${parts.length} of its ${count} parts`);
        parts.forEach((p, i) => {
          if (p.date.S !== this.partKey(loc, hash, i).date.S) throw new InconsistentDocumentError(loc.label, `part ${i} is missing`);
        });
        return { head, value: assemble(head, parts) };
      } catch (e) {
        // Retry only when the head moved on (an overwrite in progress); the same head twice is damage.
        if (!(e instanceof InconsistentDocumentError) || attempt >= READ_ATTEMPTS || hash === lastHash) throw e;
        lastHash = hash;
        this.opts.log?.warn({ key: loc.label, attempt, err: e.message }, 'dynamodb document changed while read; reading again');
      }
    }
  }

  private async getDoc<T>(loc: Loc, payload: string, hashed: string[] = []): Promise<{ doc: T; head: Item } | null> {
    const got = await this.readVersioned(loc, (head, parts) => {
      const value = head[payload];
      if (!value) throw new InconsistentDocumentError(loc.label, `the head has no ${payload}`);
      const order = new KeyOrderReader(head.key_order?.S, loc.label);
      const headValue = decodeValue(value, order, loc.label);
      order.assertDone();
      if (!parts.length) return headValue as T;
      let splits: SplitRef[];
      try {
        splits = JSON.parse(head.splits?.S ?? '') as SplitRef[];
      } catch {
        throw new InconsistentDocumentError(loc.label, 'the head has parts but no readable splits');
      }
      const pages: SplitPage[] = parts.map((p) => {
        const po = new KeyOrderReader(p.key_order?.S, loc.label);
        const entries = p.entries ? decodeValue(p.entries, po, loc.label) : undefined;
        po.assertDone();
        if (!Array.isArray(entries)) throw new InconsistentDocumentError(loc.label, 'a part has no entries');
        return { split: Number(p.split?.N), entries };
      });
      const doc = joinDoc(headValue, splits, pages, loc.label);
      const hash = contentHash(JSON.stringify(doc), ...hashed.map((n) => head[n]?.S ?? ''));
      if (hash !== head.content_hash.S) throw new InconsistentDocumentError(loc.label, 'assembled content does not match its content_hash');
      return doc as T;
    });
    return got && { doc: got.value, head: got.head };
  }

  private async getBlob(loc: Loc): Promise<Buffer | null> {
    const got = await this.readVersioned(loc, (head, parts) => {
      const size = Number(head.size?.N);
      let bytes: Buffer;
      if (!parts.length) {
        if (!head.bytes?.B) throw new InconsistentDocumentError(loc.label, 'the head has neither bytes nor parts');
        bytes = Buffer.from(head.bytes.B.buffer, head.bytes.B.byteOffset, head.bytes.B.byteLength);
      } else {
        bytes = Buffer.concat(parts.map((p) => p.bytes?.B ?? new Uint8Array(0)));
        if (contentHash(bytes) !== head.content_hash.S) throw new InconsistentDocumentError(loc.label, 'assembled bytes do not match their content_hash');
      }
      if (bytes.length !== size) throw new InconsistentDocumentError(loc.label, `${bytes.length} bytes read, ${size} stored`);
      return bytes;
    });
    return got ? got.value : null;
  }

  // ───────────────────────────── Store ─────────────────────────────

  async putMetrics(type: string, day: string, doc: unknown): Promise<void> {
    return this.putDoc(this.metricsLoc(type, day), 'metrics', doc);
  }

  async getMetrics<T = unknown>(type: string, day: string): Promise<T | null> {
    return (await this.getDoc<T>(this.metricsLoc(type, day), 'metrics'))?.doc ?? null;
  }

  async listMetricDates(type?: string): Promise<string[]> {
    this.live();
    // A type that cannot be a metric type has no documents (and must not reach internal partitions).
    const types = type === undefined ? [...METRIC_TYPES] : /^[a-z]+$/.test(type) ? [type] : [];
    const dates = new Set<string>();
    for (const t of types) {
      for await (const item of this.query({
        TableName: this.opts.metricsTable,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'metric_type', '#sk': 'date' },
        ExpressionAttributeValues: { ':pk': S(t) },
        ProjectionExpression: '#sk',
      })) {
        const d = item.date?.S;
        if (d && DAY_RE.test(d)) dates.add(d);
      }
    }
    return [...dates].sort();
  }

  async putReport(day: string, json: unknown, csv: string): Promise<void> {
    if (typeof csv !== 'string') throw new TypeError('report csv must be a string');
    await this.putDoc(this.reportLoc(day), 'report', json, { csv: S(csv) }, ['csv']);
  }

  async getReport<T = unknown>(day: string): Promise<T | null> {
    return (await this.getDoc<T>(this.reportLoc(day), 'report', ['csv']))?.doc ?? null;
  }

  async getReportCsv(day: string): Promise<string | null> {
    this.live();
    const item = await this.getItem(this.reportLoc(day), 'csv');
    return item?.csv?.S ?? null;
  }

  /** Report dates: a Scan of the reports table (one item per day; its partition key is per day). */
  async listReportDates(): Promise<string[]> {
    this.live();
    const dates = new Set<string>();
    for await (const item of this.scan({
      TableName: this.opts.reportsTable,
      ExpressionAttributeNames: { '#pk': 'report_id', '#sk': 'date' },
      ProjectionExpression: '#pk, #sk',
    })) {
      const d = item.date?.S;
      if (d && DAY_RE.test(d) && item.report_id?.S === `daily_report_${d}`) dates.add(d);
    }
    return [...dates].sort();
  }

  async putPartial(key: ChunkKey, day: string, bytes: Buffer): Promise<void> {
    return this.putBlob(this.partialLoc(key, day), bytes);
  }

  async getPartial(key: ChunkKey, day: string): Promise<Buffer | null> {
    return this.getBlob(this.partialLoc(key, day));
  }

  async putChunkSummary(key: ChunkKey, summary: unknown): Promise<void> {
    return this.putDoc(this.chunkLoc(key), 'summary', summary);
  }

  async getChunkSummary<T = unknown>(key: ChunkKey): Promise<T | null> {
    return (await this.getDoc<T>(this.chunkLoc(key), 'summary'))?.doc ?? null;
  }

  async putRun(run: RunRecord): Promise<void> {
    // created_at beside the record lets listRuns order runs from the keys alone.
    return this.putDoc(this.runLoc(run.runId), 'run', run, { created_at: S(String(run.createdAt)) });
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    return (await this.getDoc<RunRecord>(this.runLoc(runId), 'run'))?.doc ?? null;
  }

  /** Newest first by createdAt (as FsStore: every run, sorted, then the first `limit`); ties by run id. */
  async listRuns(limit = 50): Promise<RunRecord[]> {
    this.live();
    const refs: { runId: string; createdAt: string }[] = [];
    for await (const item of this.query({
      TableName: this.opts.metricsTable,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'metric_type', '#sk': 'date', '#c': 'created_at' },
      ExpressionAttributeValues: { ':pk': S('_run') },
      ProjectionExpression: '#sk, #c',
    })) {
      refs.push({ runId: item.date.S!, createdAt: item.created_at?.S ?? '' });
    }
    refs.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
    const wanted = refs.slice(0, limit);
    const runs: (RunRecord | null)[] = new Array(wanted.length).fill(null);
    let next = 0;
    // A few reads at a time: enough to hide latency, few enough not to throttle a small table.
    const worker = async () => {
      while (next < wanted.length) {
        const i = next++;
        runs[i] = await this.getRun(wanted[i].runId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, wanted.length) }, worker));
    return runs.filter((r): r is RunRecord => r !== null);
  }

  async stats(): Promise<{ metrics_count: number; reports_count: number }> {
    this.live();
    let metrics = 0;
    for (const t of METRIC_TYPES) {
      let start: Item | undefined;
      do {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.opts.metricsTable,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': 'metric_type' },
            ExpressionAttributeValues: { ':pk': S(t) },
            Select: 'COUNT',
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        metrics += out.Count ?? 0;
        start = out.LastEvaluatedKey;
      } while (start);
    }
    return { metrics_count: metrics, reports_count: (await this.listReportDates()).length };
  }
}
