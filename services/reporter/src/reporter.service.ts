import { Inject, Injectable, Optional } from '@nestjs/common';
import { ChunkSummary } from '@cityflow/contracts';
import { APP_CONFIG, AppConfig, LOGGER, Logger, RunRecord, STORE, Store } from '@cityflow/common';
import { DayMergePlan, DayMergeResult, finalizeRun, prepareDayMerges, RunFile, toParisIso } from '@cityflow/domain';
import { REPORT_EXPORT, ReportExport } from './report-export';

export interface FinalizeOutcome {
  complete: boolean;
  metricsWritten: number;
  reportPath: string;
}

@Injectable()
export class ReporterService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(STORE) private readonly store: Store,
    @Inject(LOGGER) private readonly log: Logger,
    @Optional() @Inject(REPORT_EXPORT) private readonly reportExport: ReportExport | null = null,
  ) {}

  /** The run's day merges to fan out (after writing the référentiel they read). */
  async prepareMerges(
    runId: string,
    date: string,
    chunks: ChunkSummary[],
    failedJobs: Record<string, string>,
  ): Promise<{ plans: DayMergePlan[]; prepared: DayMergeResult[] }> {
    const { files } = await this.runFiles(runId, failedJobs);
    return prepareDayMerges(this.store, { date, chunks, files });
  }

  /** The run record and its files, marked failed where their job failed. */
  private async runFiles(runId: string, failedJobs: Record<string, string>) {
    const run = await this.store.getRun(runId);
    if (!run) throw new Error(`run ${runId} has no record; it was not started by the ingestor`);
    const failedByIndex = new Map<number, string>();
    for (const [jobId, reason] of Object.entries(failedJobs)) {
      const m = /-f(\d+)(?:-c\d+)?$/.exec(jobId);
      if (m) failedByIndex.set(Number(m[1]), reason);
    }
    const files: RunFile[] = (run.files ?? []).map((f) => ({
      fileIndex: f.fileIndex,
      source: f.source as RunFile['source'],
      relPath: f.relPath,
      fileKey: f.fileKey,
      status: failedByIndex.has(f.fileIndex) ? 'failed' : 'ok',
      ...(failedByIndex.has(f.fileIndex) ? { error: failedByIndex.get(f.fileIndex) } : {}),
    }));
    return { run, files, failedByIndex };
  }

  /**
   * Merge the run's chunks into metrics and the day's report. `failedJobs` maps the job id of a
   * failed child (a whole file, or a chunked file) to its reason; `merged` lists the day merges
   * MergeDay jobs already wrote.
   */
  async finalize(runId: string, date: string, chunks: ChunkSummary[], failedJobs: Record<string, string>, merged: DayMergeResult[] = []): Promise<FinalizeOutcome> {
    const { run, files, failedByIndex } = await this.runFiles(runId, failedJobs);

    const generatedAt = toParisIso(this.config.sourceDateEpoch !== undefined ? this.config.sourceDateEpoch * 1000 : Date.now());
    const result = await finalizeRun(this.store, { date, chunks, files, generatedAt }, merged);

    // Re-running a day with the same inputs must leave the published report byte-identical:
    // keep the stored one when only `generated_at` would change.
    const previous = await this.store.getReport<Record<string, unknown>>(date);
    const sameContent = previous && JSON.stringify({ ...previous, generated_at: null }) === JSON.stringify({ ...result.report, generated_at: null });
    if (!sameContent) await this.store.putReport(date, result.report, result.csv);
    // S3 copy of the stored report (USE_S3 / AWS): a failed upload fails the job, the stored report stays.
    await this.reportExport?.exportDay(date);

    const complete = result.report.completude.statut === 'complet';
    // Failed-chunk policy: a split file whose chunk failed (after its retries) fails the run, with
    // the chunk's id and reason. The file is left out whole (never half counted) and the report
    // still lists it as failed. A whole-file failure (unusable input) only makes the run incomplete.
    const failedChunked = (run.files ?? []).filter((f) => f.chunked && failedByIndex.has(f.fileIndex));
    const error = failedChunked.length ? failedChunked.map((f) => `${f.relPath}: ${failedByIndex.get(f.fileIndex)}`).join('; ') : undefined;
    const updated: RunRecord = {
      ...run,
      status: error ? 'failed' : complete ? 'completed' : 'incomplete',
      ...(error ? { error } : {}),
      updatedAt: new Date().toISOString(),
      result: { complete, metricsWritten: result.metricsWritten.length, missing: result.report.completude.sources_manquantes, failedFiles: files.filter((f) => f.status === 'failed') },
    };
    await this.store.putRun(updated);
    this.log.info({ runId, date, complete, metrics: result.metricsWritten.length, failedFiles: failedByIndex.size }, 'report written');
    return { complete, metricsWritten: result.metricsWritten.length, reportPath: `reports/daily_report_${date}.json` };
  }

  async markFailed(runId: string, reason: string) {
    const run = await this.store.getRun(runId);
    if (run) await this.store.putRun({ ...run, status: 'failed', error: reason, updatedAt: new Date().toISOString() });
  }
}
