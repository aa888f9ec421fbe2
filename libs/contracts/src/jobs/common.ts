import { z } from 'zod';

export const SOURCE_NAMES = ['comptages', 'referentiel', 'chantiers', 'bikes', 'traffic', 'weather', 'velib'] as const;
export const SourceSchema = z.enum(SOURCE_NAMES);
export const DaySchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
/** Run ids become part of job ids: no `:` and never all digits (BullMQ rules). */
export const RunIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{2,80}$/, 'expected a lowercase run id (letters, digits, dashes)');

export const FileRefSchema = z.object({
  source: SourceSchema,
  relPath: z.string().min(1),
  size: z.number().int().nonnegative(),
  version: z.string().min(1),
  fileKey: z.string().regex(/^[A-Za-z0-9._-]+$/),
});

export const ByteRangeSchema = z.object({
  index: z.number().int().nonnegative(),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  firstLine: z.number().int().positive().optional(),
});

export const QualitySchema = z.object({
  records: z.number().int().nonnegative(),
  accepted: z.number().int().nonnegative(),
  rejected: z.record(z.string(), z.number().int().nonnegative()),
  samples: z.array(
    z.object({ file: z.string(), line: z.number().optional(), byteOffset: z.number().optional(), reason: z.string() }),
  ),
});

/** What a processed chunk reports upward: a pointer to its partials, never the rows. */
export const ChunkSummarySchema = z.object({
  fileKey: z.string(),
  source: SourceSchema,
  relPath: z.string(),
  chunkIndex: z.number().int().nonnegative(),
  /** Days (or `*` for snapshots) for which a partial was written. */
  days: z.array(z.string()),
  quality: QualitySchema,
  /** True when the partials already existed for this file version and were reused. */
  cached: z.boolean(),
});
export type ChunkSummary = z.infer<typeof ChunkSummarySchema>;
