import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { Job, UnrecoverableError, WaitingChildrenError } from 'bullmq';
import { ChunkFile, ChunkSummary, JobContractError, JobResult, QueueName } from '@cityflow/contracts';
import { LOGGER, Logger } from '@cityflow/common';
import { SourceChangedError } from '@cityflow/domain';
import { ChunkerService } from './chunker.service';

/**
 * Two steps on one job (BullMQ "process step jobs" pattern): `plan` adds the chunk children and
 * parks the job in waiting-children; when every child is done the job runs again in `wait` and
 * returns the chunk summaries to the run. A failed chunk fails the whole file, so no file is
 * ever half counted.
 */
@Processor(QueueName.Chunk)
export class ChunkFileProcessor extends WorkerHost {
  constructor(
    private readonly chunker: ChunkerService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  async process(job: Job, token?: string): Promise<JobResult<typeof ChunkFile>> {
    let data;
    try {
      data = ChunkFile.parse(job.data);
    } catch (e) {
      throw new UnrecoverableError((e as JobContractError).message);
    }
    if ((data.step ?? 'plan') === 'plan') {
      try {
        await this.chunker.addChunks(job, data);
      } catch (e) {
        if (e instanceof SourceChangedError) throw new UnrecoverableError(`${e.name}: ${e.message}`);
        throw e;
      }
      await job.updateData({ ...data, step: 'wait' });
    }
    if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();

    const failures = await job.getIgnoredChildrenFailures();
    const failed = Object.entries(failures).map(([key, reason]) => `${key.split(':').pop()}: ${reason}`);
    if (failed.length) {
      this.log.warn({ runId: data.runId, file: data.file.relPath, failed }, 'chunks failed; the file is not counted');
      throw new UnrecoverableError(`${failed.length} chunk(s) of ${data.file.relPath} failed: ${failed.slice(0, 3).join('; ')}`);
    }
    const chunks = Object.values(await job.getChildrenValues<ChunkSummary>()).sort((a, b) => a.chunkIndex - b.chunkIndex);
    return ChunkFile.parseResult({ chunks, failedChunks: [] });
  }
}
