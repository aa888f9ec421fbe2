import { z } from 'zod';
import { QueueName } from './queues';

/** Options every job gets unless its contract says otherwise (subset of BullMQ JobsOptions). */
export interface JobDefaults {
  attempts: number;
  backoff: { type: 'exponential' | 'fixed'; delay: number; jitter?: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number; count: number };
}

export const DEFAULT_JOB_OPTIONS: JobDefaults = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  // Completed jobs stay a week so `GET /runs/:id` can show per-chunk progress; bounded either way.
  removeOnComplete: { age: 7 * 24 * 3600, count: 50_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 50_000 },
};

/** Thrown when a payload does not match its contract: retrying cannot fix it. */
export class JobContractError extends Error {
  constructor(
    readonly jobName: string,
    readonly issues: string,
  ) {
    super(`job "${jobName}" payload does not match its contract: ${issues}`);
    this.name = 'JobContractError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export interface JobContract<D extends z.ZodType, R extends z.ZodType> {
  queue: QueueName;
  name: string;
  data: D;
  result: R;
  defaults: JobDefaults;
  /** Validate a payload at the consumer boundary. */
  parse(data: unknown): z.infer<D>;
  /** Validate a result before returning it (results feed parents through flows). */
  parseResult(result: unknown): z.infer<R>;
}

/** One place per job: queue, name, payload schema, result schema, default options. */
export function defineJob<D extends z.ZodType, R extends z.ZodType>(spec: {
  queue: QueueName;
  name: string;
  data: D;
  result: R;
  defaults?: Partial<JobDefaults>;
}): JobContract<D, R> {
  const check = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> => {
    const r = schema.safeParse(value);
    if (!r.success) throw new JobContractError(`${spec.name} ${what}`, z.prettifyError(r.error));
    return r.data;
  };
  return {
    queue: spec.queue,
    name: spec.name,
    data: spec.data,
    result: spec.result,
    defaults: { ...DEFAULT_JOB_OPTIONS, ...spec.defaults },
    parse: (data) => check(spec.data, data, 'data'),
    parseResult: (result) => check(spec.result, result, 'result'),
  };
}

export type JobData<C> = C extends JobContract<infer D, z.ZodType> ? z.infer<D> : never;
export type JobResult<C> = C extends JobContract<z.ZodType, infer R> ? z.infer<R> : never;
