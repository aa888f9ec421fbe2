import { JobSnapshot, summarizeRun } from '../src/runs/run-progress';

const RUN = '2025-11-04-0a1b2c3d';
const job = (id: string, state: string, extra: Partial<JobSnapshot> = {}): JobSnapshot => ({ id, queueName: 'process', state, progress: 0, attemptsMade: 0, ...extra });
const files = [
  { fileIndex: 0, source: 'weather', relPath: 'w.json', size: 100, chunked: false, fileKey: 'a' },
  { fileIndex: 1, source: 'comptages', relPath: 'c.csv', size: 300, chunked: true, fileKey: 'b' },
];

describe('summarizeRun', () => {
  it('queued run: no flow, ingest waiting', () => {
    const p = summarizeRun({ runId: RUN, status: 'queued' }, null, job(`ingest-${RUN}`, 'waiting'));
    expect(p).toMatchObject({ state: 'waiting', stage: 'queued', files: [], chunksTotal: 0, percent: 0, rowsTotal: null });
  });

  it('chunked file not yet planned counts as 0 %, weighted by size', () => {
    const flow = job(`run-${RUN}`, 'waiting-children', {
      queueName: 'report',
      children: [job(`${RUN}-f0-c0`, 'completed', { progress: { rowsDone: 5, rowsTotal: 5 } }), job(`${RUN}-f1`, 'active', { queueName: 'chunk' })],
    });
    const p = summarizeRun({ runId: RUN, status: 'running', files }, flow, job(`ingest-${RUN}`, 'completed'));
    expect(p.stage).toBe('processing');
    expect(p.files.map((f) => [f.state, f.percent])).toEqual([
      ['completed', 100],
      ['active', 0],
    ]);
    expect(p.percent).toBe(25);
    expect(p.rowsTotal).toBeNull();
  });

  it('active chunk contributes its row ratio', () => {
    const flow = job(`run-${RUN}`, 'waiting-children', {
      children: [
        job(`${RUN}-f1`, 'waiting-children', {
          children: [job(`${RUN}-f1-c0`, 'completed', { progress: { rowsDone: 10, rowsTotal: 10 } }), job(`${RUN}-f1-c1`, 'active', { progress: { rowsDone: 5, rowsTotal: 10 } })],
        }),
      ],
    });
    const p = summarizeRun({ runId: RUN, status: 'running', files: [files[1]] }, flow, null);
    expect(p.files[0]).toMatchObject({ chunks: { total: 2, completed: 1, active: 1, failed: 0, waiting: 0 }, rowsDone: 15, rowsTotal: 20, percent: 75 });
    expect(p.percent).toBe(75);
  });

  it('finished run is 100 % even when its children were pruned', () => {
    const p = summarizeRun({ runId: RUN, status: 'completed', files }, job(`run-${RUN}`, 'completed'), null);
    expect(p).toMatchObject({ stage: 'completed', percent: 100 });
    expect(p.files.every((f) => f.state === 'completed' && f.percent === 100)).toBe(true);
  });

  it('all chunks done but report not written yet stays under 100 %', () => {
    const flow = job(`run-${RUN}`, 'active', { children: [job(`${RUN}-f0-c0`, 'completed')] });
    const p = summarizeRun({ runId: RUN, status: 'running', files: [files[0]] }, flow, null);
    expect(p.stage).toBe('finalizing');
    expect(p.percent).toBe(99);
  });

  it('ignores jobs of other runs', () => {
    const flow = job(`run-${RUN}`, 'waiting-children', { children: [job('other-run-f0-c0', 'completed'), job(`${RUN}-f0-c0`, 'waiting')] });
    const p = summarizeRun({ runId: RUN, status: 'running', files: [files[0]] }, flow, null);
    expect(p.chunksTotal).toBe(1);
    expect(p.files[0].chunks.waiting).toBe(1);
  });
});
