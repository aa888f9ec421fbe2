import { Inject, Injectable } from '@nestjs/common';
import { ChunkSummary, JobData, ProcessChunk } from '@cityflow/contracts';
import { LOGGER, Logger, STORE, Store } from '@cityflow/common';
import { ChunkOutput, encodePartial, handlerFor, readFileRange, resolveInside, scanFileRange } from '@cityflow/domain';

@Injectable()
export class ProcessorService {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * Parse and aggregate one byte range, write its partials (one per day), then its summary.
   * The summary is written last: when it exists the chunk is done, and a repeated job for the
   * same file version reuses it. Every write is a put by (source, day, fileKey, chunk).
   */
  async processChunk(data: JobData<typeof ProcessChunk>): Promise<ChunkSummary> {
    const key = { source: data.file.source, fileKey: data.file.fileKey, chunkIndex: data.range.index };
    const done = await this.store.getChunkSummary<ChunkSummary>(key);
    if (done) return { ...done, cached: true };

    const abs = resolveInside(data.rawDir, data.file.relPath);
    const handler = handlerFor(data.file.source);
    const started = Date.now();
    let out: ChunkOutput;
    if (handler.createScanner) {
      // Block by block: memory stays at one block however large the range (a whole file up to
      // MAX_FILE_SIZE_MB comes as one range).
      const scanner = handler.createScanner({ file: data.file, range: data.range, header: data.header });
      await scanFileRange(abs, data.range, data.file.version, data.file.relPath, scanner);
      out = scanner.finish();
    } else {
      const bytes = await readFileRange(abs, data.range.start, data.range.end, data.file.version, data.file.relPath);
      out = handler.processChunk({ file: data.file, range: data.range, bytes, header: data.header });
    }
    const days = Object.keys(out.partials).sort();
    for (const day of days) await this.store.putPartial(key, day, encodePartial(handler, out.partials[day]));
    const summary: ChunkSummary = {
      fileKey: data.file.fileKey,
      source: data.file.source,
      relPath: data.file.relPath,
      chunkIndex: data.range.index,
      days,
      quality: out.quality,
      cached: false,
    };
    await this.store.putChunkSummary(key, summary);
    this.log.debug({ file: data.file.relPath, chunk: data.range.index, records: out.quality.records, days: days.length, ms: Date.now() - started }, 'chunk processed');
    return summary;
  }
}
