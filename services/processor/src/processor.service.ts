import { Inject, Injectable } from '@nestjs/common';
import { ChunkSummary, JobData, ProcessChunk } from '@cityflow/contracts';
import { LOGGER, Logger, RAW_SOURCES, RawSources, STORE, Store } from '@cityflow/common';
import { ChunkOutput, encodePartial, handlerFor, RawReader, readFileRange, scanFileRange } from '@cityflow/domain';

@Injectable()
export class ProcessorService {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(RAW_SOURCES) private readonly rawSources: RawSources,
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

    const handler = handlerFor(data.file.source);
    const started = Date.now();
    let out: ChunkOutput;
    if (handler.createScanner) {
      // Block by block: memory stays at one block however large the range (a whole file up to
      // MAX_FILE_SIZE_MB comes as one range).
      const scanner = handler.createScanner({ file: data.file, range: data.range, header: data.header });
      await scanFileRange(await this.openRange(data), data.range, scanner);
      out = scanner.finish();
    } else {
      const bytes = await readFileRange(await this.openRange(data), data.range.start, data.range.end);
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

  /**
   * A reader of the job's file version, told which range will be read (a whole small file may
   * come from a local cache). The read helpers close it.
   */
  private openRange(data: JobData<typeof ProcessChunk>): Promise<RawReader> {
    return this.rawSources.forLocation(data.rawDir).open(data.file, { range: data.range });
  }
}
