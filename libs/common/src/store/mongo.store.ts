/**
 * MongoDB store: one MongoClient per process (the store is a singleton of the service), 5 s
 * server selection timeout.
 *
 * Collections (unique indexes back every upsert filter, so two concurrent upserts cannot both
 * insert; the loser's E11000 is retried once and then updates):
 * | collection        | document                                                                   | indexes                                   |
 * |-------------------|----------------------------------------------------------------------------|-------------------------------------------|
 * | `metrics`         | `{metric_type, date, timestamp, metrics, content_hash, parts, splits, created_at, updated_at}` | unique (metric_type, date); (date)        |
 * | `reports`         | `{report_id, date, timestamp, report, csv, content_hash, …, created_at, updated_at}`            | unique (date)                             |
 * | `partials`        | `{source, file_key, chunk_index, day, bytes (BinData) or parts, size, content_hash, …}`         | unique (source, file_key, chunk_index, day) |
 * | `chunk_summaries` | `{source, file_key, chunk_index, summary, content_hash, …}`                                     | unique (source, file_key, chunk_index)    |
 * | `runs`            | `{run_id, run_created_at, run, content_hash, …}`                                               | unique (run_id); (run_created_at)         |
 * | `doc_parts`       | `{owner, version, index, split, entries}` or `{…, bytes}`                                      | unique (owner, version, index)            |
 *
 * `created_at` is set on insert only (`$setOnInsert`) and `updated_at` on every content change
 * (the old system overwrote created_at on every upsert, B25). A put whose content hash equals the
 * stored one writes nothing, as FsStore leaves an identical file untouched.
 *
 * Documents over the budget (12 MiB of BSON; MongoDB's limit is 16 MB) are split as in the
 * DynamoDB store: parts in `doc_parts` keyed by the content hash, written before the head; the
 * replaced version's parts deleted after it.
 */
import { Binary, BSON, Collection, Db, Document, MongoBulkWriteError, MongoClient, MongoServerError } from 'mongodb';
import type { Logger } from 'pino';
import { joinDoc, SplitPage, SplitRef, splitBytes, splitDoc } from './doc-split';
import { bsonSizeModel, fromMongoValue, toMongoValue } from './mongo-codec';
import { assertStorable, assertStorableBytes } from './storable';
import type { ChunkKey, RunRecord, Store } from './store';
import { DocumentTooLargeError, InconsistentDocumentError, StoreClosedError, StoreResourceMissingError } from './store-errors';
import { contentHash, DAY_RE, keyPart, metricTypeKey } from './stored-keys';

/** BSON bytes this store puts in one document at most (MongoDB's limit is 16 MiB). */
export const MONGO_DOC_BUDGET = 12 * 1024 * 1024;
const STALE_PART_AGE_MS = 10 * 60_000;
const READ_ATTEMPTS = 3;
const DUPLICATE_KEY = 11000;

export interface MongoStoreOptions {
  url: string;
  database: string;
  /** Create missing collections and indexes at init; otherwise a missing one is StoreResourceMissingError. */
  createResources: boolean;
  log?: Logger;
  /** BSON bytes one document may hold (default MONGO_DOC_BUDGET); smaller values make tests split small documents. */
  docBudget?: number;
}

interface IndexSpec {
  collection: string;
  key: Record<string, 1 | -1>;
  unique: boolean;
}

/**
 * Indexes keep MongoDB's default names (`metric_type_1_date_1`, `date_1`, …): the old system
 * created the same indexes under those names, and createIndex of an identical index is a no-op.
 */
const INDEXES: IndexSpec[] = [
  { collection: 'metrics', key: { metric_type: 1, date: 1 }, unique: true },
  { collection: 'metrics', key: { date: 1 }, unique: false },
  { collection: 'reports', key: { date: 1 }, unique: true },
  { collection: 'partials', key: { source: 1, file_key: 1, chunk_index: 1, day: 1 }, unique: true },
  { collection: 'chunk_summaries', key: { source: 1, file_key: 1, chunk_index: 1 }, unique: true },
  { collection: 'runs', key: { run_id: 1 }, unique: true },
  { collection: 'runs', key: { run_created_at: -1 }, unique: false },
  { collection: 'doc_parts', key: { owner: 1, version: 1, index: 1 }, unique: true },
];

/** One stored document or blob: its collection, the filter of its unique index, and its parts' owner id. */
interface Loc {
  collection: string;
  filter: Record<string, string | number>;
  owner: string;
  label: string;
}

const isDuplicateKey = (e: unknown) => e instanceof MongoServerError && e.code === DUPLICATE_KEY;

export class MongoStore implements Store {
  readonly kind = 'mongodb';
  private readonly client: MongoClient;
  private readonly db: Db;
  private readonly budget: number;
  private closed = false;

  constructor(private readonly opts: MongoStoreOptions) {
    this.client = new MongoClient(opts.url, { serverSelectionTimeoutMS: 5000 });
    this.db = this.client.db(opts.database);
    this.budget = opts.docBudget ?? MONGO_DOC_BUDGET;
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  /** Connect (fails after 5 s without a server), then check or create the indexes. */
  async init(): Promise<void> {
    await this.client.connect();
    await this.db.command({ ping: 1 });
    const missing: string[] = [];
    for (const spec of INDEXES) {
      const coll = this.db.collection(spec.collection);
      if (this.opts.createResources) {
        await coll.createIndex(spec.key, { unique: spec.unique });
        continue;
      }
      let indexes: Document[] = [];
      try {
        indexes = await coll.listIndexes().toArray();
      } catch (e) {
        // NamespaceNotFound: the collection does not exist.
        if (!(e instanceof MongoServerError && e.code === 26)) throw e;
      }
      const found = indexes.some((ix) => JSON.stringify(ix.key) === JSON.stringify(spec.key) && !!ix.unique === spec.unique);
      if (!found) missing.push(`MongoDB index ${spec.collection} ${JSON.stringify(spec.key)}${spec.unique ? ' unique' : ''}`);
    }
    if (missing.length) throw new StoreResourceMissingError(missing);
    this.opts.log?.info({ database: this.opts.database }, 'mongodb store ready');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.close();
  }

  private coll(name: string): Collection {
    if (this.closed) throw new StoreClosedError(this.kind);
    return this.db.collection(name);
  }

  // ───────────────────────────── locations ─────────────────────────────

  private metricsLoc(type: string, day: string): Loc {
    const t = metricTypeKey(type);
    const d = keyPart(day, 'day');
    return { collection: 'metrics', filter: { metric_type: t, date: d }, owner: `metrics/${t}/${d}`, label: `metrics ${t}/${d}` };
  }
  private reportLoc(day: string): Loc {
    const d = keyPart(day, 'day');
    return { collection: 'reports', filter: { date: d }, owner: `reports/${d}`, label: `report ${d}` };
  }
  private partialLoc(k: ChunkKey, day: string): Loc {
    const filter = { source: keyPart(k.source, 'source'), file_key: keyPart(k.fileKey, 'file key'), chunk_index: Number(keyPart(k.chunkIndex, 'chunk index')), day: keyPart(day, 'day') };
    return { collection: 'partials', filter, owner: `partials/${filter.source}/${filter.file_key}/${filter.chunk_index}/${filter.day}`, label: `partial ${filter.source}/${filter.file_key}/${filter.chunk_index}/${day}` };
  }
  private chunkLoc(k: ChunkKey): Loc {
    const filter = { source: keyPart(k.source, 'source'), file_key: keyPart(k.fileKey, 'file key'), chunk_index: Number(keyPart(k.chunkIndex, 'chunk index')) };
    return { collection: 'chunk_summaries', filter, owner: `chunk_summaries/${filter.source}/${filter.file_key}/${filter.chunk_index}`, label: `chunk ${filter.source}/${filter.file_key}/${filter.chunk_index}` };
  }
  private runLoc(runId: string): Loc {
    const id = keyPart(runId, 'run id');
    return { collection: 'runs', filter: { run_id: id }, owner: `runs/${id}`, label: `run ${id}` };
  }

  // ───────────────────────────── versioned writes ─────────────────────────────

  /** An upsert; the loser of two concurrent inserts gets E11000 and, retried once, updates. */
  private async upsert(coll: Collection, filter: Document, update: Document): Promise<void> {
    try {
      await coll.updateOne(filter, update, { upsert: true });
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      await coll.updateOne(filter, update, { upsert: true });
    }
  }

  private async writeParts(parts: Document[]): Promise<void> {
    if (!parts.length) return;
    const coll = this.coll('doc_parts');
    const ops = parts.map((p) => ({ replaceOne: { filter: { owner: p.owner, version: p.version, index: p.index }, replacement: p, upsert: true } }));
    try {
      await coll.bulkWrite(ops, { ordered: false });
    } catch (e) {
      if (!(e instanceof MongoBulkWriteError)) throw e;
      const errors = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
      if (!errors.length || errors.some((w) => w.code !== DUPLICATE_KEY)) throw e;
      // Parts are keyed by content hash: a concurrent writer inserted the same bytes. Retried once as updates.
      await coll.bulkWrite(
        errors.map((w) => ops[w.index]),
        { ordered: false },
      );
    }
  }

  /**
   * Skip when the stored content hash equals `hash`; otherwise parts first, then the head (an
   * upsert: `$set` the content and updated_at, `$setOnInsert` created_at), then delete the parts
   * of the version it replaced.
   */
  private async writeVersioned(loc: Loc, hash: string, fields: Document, parts: Document[]): Promise<void> {
    const coll = this.coll(loc.collection);
    const prev = await coll.findOne(loc.filter, { projection: { content_hash: 1 } });
    if (prev?.content_hash === hash) {
      this.opts.log?.debug({ key: loc.label }, 'mongodb put skipped: content unchanged');
      return;
    }
    await this.writeParts(parts);
    const now = new Date();
    await this.upsert(coll, loc.filter, { $set: { ...fields, content_hash: hash, updated_at: now }, $setOnInsert: { created_at: now } });
    if (prev) {
      const res = await this.coll('doc_parts').deleteMany({
        owner: loc.owner,
        version: { $ne: hash },
        $or: [{ version: prev.content_hash }, { written_at: { $lt: new Date(Date.now() - STALE_PART_AGE_MS) } }],
      });
      if (res.deletedCount) this.opts.log?.debug({ key: loc.label, deleted: res.deletedCount }, 'mongodb stale parts deleted');
    }
  }

  private async putDoc(loc: Loc, payload: string, doc: unknown, extra: Document = {}, hashed: string[] = []): Promise<void> {
    if (this.closed) throw new StoreClosedError(this.kind);
    assertStorable(doc);
    const hash = contentHash(JSON.stringify(doc), ...hashed.map((n) => String(extra[n])));
    const stored = toMongoValue(doc);
    const now = new Date();
    const overhead = BSON.calculateObjectSize({ ...loc.filter, ...extra, timestamp: now.toISOString(), content_hash: hash, parts: 0, updated_at: now, created_at: now, _id: 'x'.repeat(12) });
    const samplePart = BSON.calculateObjectSize({ owner: loc.owner, version: hash, index: 0, split: 0, written_at: now, _id: 'x'.repeat(12) });
    const headBudget = this.budget - overhead - payload.length - 64;
    // A field beside the document (the report's csv) that leaves it no room is not split.
    if (headBudget < 1024) throw new DocumentTooLargeError(`${Object.keys(extra).join(', ')} (${loc.label})`, overhead, this.budget - 1024);
    const plan = splitDoc(stored, bsonSizeModel, { headBudget, pageBudget: this.budget - samplePart - 64 });
    const parts = plan.pages.map((page, index) => ({ owner: loc.owner, version: hash, index, split: page.split, written_at: now, entries: page.entries }));
    await this.writeVersioned(loc, hash, { ...extra, timestamp: now.toISOString(), [payload]: plan.head, parts: parts.length, splits: plan.splits }, parts);
  }

  private async putBlob(loc: Loc, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new StoreClosedError(this.kind);
    assertStorableBytes(bytes);
    const hash = contentHash(bytes);
    const now = new Date();
    const pieceBytes = this.budget - 4096;
    const fields: Document = { timestamp: now.toISOString(), size: bytes.length, parts: 0 };
    let parts: Document[] = [];
    if (bytes.length <= pieceBytes) fields.bytes = new Binary(bytes);
    else {
      parts = splitBytes(bytes, pieceBytes).map((piece, index) => ({ owner: loc.owner, version: hash, index, written_at: now, bytes: new Binary(piece) }));
      fields.parts = parts.length;
      fields.bytes = null;
    }
    await this.writeVersioned(loc, hash, fields, parts);
  }

  // ───────────────────────────── versioned reads ─────────────────────────────

  private async readVersioned<T>(loc: Loc, assemble: (head: Document, parts: Document[]) => T): Promise<{ head: Document; value: T } | null> {
    let lastHash: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const head = await this.coll(loc.collection).findOne(loc.filter);
      if (!head) return null;
      const hash = String(head.content_hash ?? '');
      const count = Number(head.parts ?? 0);
      const parts = count > 0 ? await this.coll('doc_parts').find({ owner: loc.owner, version: hash }).sort({ index: 1 }).toArray() : [];
      try {
        if (parts.length !== count) throw new InconsistentDocumentError(loc.label, `found ${parts.length} of its ${count} parts`);
        parts.forEach((p, i) => {
          if (p.index !== i) throw new InconsistentDocumentError(loc.label, `part ${i} is missing`);
        });
        return { head, value: assemble(head, parts) };
      } catch (e) {
        if (!(e instanceof InconsistentDocumentError) || attempt >= READ_ATTEMPTS || hash === lastHash) throw e;
        lastHash = hash;
        this.opts.log?.warn({ key: loc.label, attempt, err: e.message }, 'mongodb document changed while read; reading again');
      }
    }
  }

  private async getDoc<T>(loc: Loc, payload: string, hashed: string[] = []): Promise<T | null> {
    const got = await this.readVersioned(loc, (head, parts) => {
      if (!(payload in head)) throw new InconsistentDocumentError(loc.label, `the document has no ${payload}`);
      if (!parts.length) return fromMongoValue(head[payload], loc.label) as T;
      const pages: SplitPage[] = parts.map((p) => {
        if (!Array.isArray(p.entries)) throw new InconsistentDocumentError(loc.label, 'a part has no entries');
        return { split: Number(p.split), entries: p.entries as unknown[] };
      });
      const joined = joinDoc(head[payload], (head.splits ?? []) as SplitRef[], pages, loc.label);
      const doc = fromMongoValue(joined, loc.label);
      if (contentHash(JSON.stringify(doc), ...hashed.map((n) => String(head[n]))) !== head.content_hash) {
        throw new InconsistentDocumentError(loc.label, 'assembled content does not match its content_hash');
      }
      return doc as T;
    });
    return got ? got.value : null;
  }

  private async getBlob(loc: Loc): Promise<Buffer | null> {
    const got = await this.readVersioned(loc, (head, parts) => {
      const pieces = parts.length ? parts.map((p) => p.bytes) : [head.bytes];
      if (pieces.some((b) => !(b instanceof Binary))) throw new InconsistentDocumentError(loc.label, 'stored bytes are missing');
      const bytes = Buffer.concat(pieces.map((b: Binary) => b.value()));
      if (bytes.length !== head.size) throw new InconsistentDocumentError(loc.label, `${bytes.length} bytes read, ${head.size} stored`);
      if (parts.length && contentHash(bytes) !== head.content_hash) throw new InconsistentDocumentError(loc.label, 'assembled bytes do not match their content_hash');
      return bytes;
    });
    return got ? got.value : null;
  }

  // ───────────────────────────── Store ─────────────────────────────

  async putMetrics(type: string, day: string, doc: unknown): Promise<void> {
    return this.putDoc(this.metricsLoc(type, day), 'metrics', doc);
  }

  async getMetrics<T = unknown>(type: string, day: string): Promise<T | null> {
    return this.getDoc<T>(this.metricsLoc(type, day), 'metrics');
  }

  async listMetricDates(type?: string): Promise<string[]> {
    const filter = type === undefined ? {} : { metric_type: type };
    const dates = (await this.coll('metrics').distinct('date', filter)) as unknown[];
    return dates.filter((d): d is string => typeof d === 'string' && DAY_RE.test(d)).sort();
  }

  async putReport(day: string, json: unknown, csv: string): Promise<void> {
    if (typeof csv !== 'string') throw new TypeError('report csv must be a string');
    const d = keyPart(day, 'day');
    await this.putDoc(this.reportLoc(d), 'report', json, { report_id: `daily_report_${d}`, csv }, ['csv']);
  }

  async getReport<T = unknown>(day: string): Promise<T | null> {
    return this.getDoc<T>(this.reportLoc(day), 'report', ['csv']);
  }

  async getReportCsv(day: string): Promise<string | null> {
    const doc = await this.coll('reports').findOne(this.reportLoc(day).filter, { projection: { csv: 1 } });
    return typeof doc?.csv === 'string' ? doc.csv : null;
  }

  async listReportDates(): Promise<string[]> {
    const docs = await this.coll('reports').find({}, { projection: { _id: 0, date: 1 } }).toArray();
    return [...new Set(docs.map((d) => d.date).filter((d): d is string => typeof d === 'string' && DAY_RE.test(d)))].sort();
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
    return this.getDoc<T>(this.chunkLoc(key), 'summary');
  }

  async putRun(run: RunRecord): Promise<void> {
    return this.putDoc(this.runLoc(run.runId), 'run', run, { run_created_at: String(run.createdAt) });
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    return this.getDoc<RunRecord>(this.runLoc(runId), 'run');
  }

  /** Newest first by createdAt, then the first `limit` (FsStore's semantics); ties by run id. */
  async listRuns(limit = 50): Promise<RunRecord[]> {
    let cursor = this.coll('runs').find({}, { projection: { _id: 0, run_id: 1, run_created_at: 1 } }).sort({ run_created_at: -1, run_id: 1 });
    if (limit > 0) cursor = cursor.limit(limit);
    const refs = (await cursor.toArray()).slice(0, limit);
    const runs: RunRecord[] = [];
    for (const ref of refs) {
      const run = await this.getRun(String(ref.run_id));
      if (run) runs.push(run);
    }
    return runs;
  }

  async stats(): Promise<{ metrics_count: number; reports_count: number }> {
    return { metrics_count: await this.coll('metrics').countDocuments({}), reports_count: (await this.listReportDates()).length };
  }
}
