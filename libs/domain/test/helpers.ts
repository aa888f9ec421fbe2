/** Small helpers shared by the domain tests. */
import { InputFormatError, type FileRef, type SourceName } from '../src/shared/model';
import { parisMidnight } from '../src/shared/time';
import { ETATS_TRAFIC, type ComptagesPartial } from '../src/sources/comptages';

/** A FileRef for a test input: version from the size, key from the path (as discovery would make unique). */
export function testFileRef(source: SourceName, relPath: string, size: number): FileRef {
  return { source, relPath, size, version: `${size}-0`, fileKey: relPath.replace(/[^A-Za-z0-9]/g, '_') };
}

/** Run `fn`, expect an InputFormatError and return it (any other outcome fails the test). */
export function formatError(fn: () => unknown): InputFormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputFormatError) return e;
    throw e;
  }
  throw new Error('expected an InputFormatError');
}

/** One accepted row of a comptages partial: [start of the hour (epoch ms), débit, taux, état]. */
export type HourRow = [hourStart: number, debit: number | null, taux: number | null, etat: string];

/** The rows of arc `arcId` in a comptages partial, in row order, as readable tuples. */
export function partialRows(p: ComptagesPartial, arcId: string): HourRow[] {
  const a = p.arcs.findIndex((x) => x.id === arcId);
  const midnight = parisMidnight(p.day);
  const rows: HourRow[] = [];
  for (let r = 0; r < p.rows; r++) {
    if (p.arc[r] !== a) continue;
    const n = (v: number) => (Number.isNaN(v) ? null : v);
    rows.push([midnight + p.hour[r] * 3_600_000, n(p.debit[r]), n(p.taux[r]), ETATS_TRAFIC[p.etat[r]]]);
  }
  return rows;
}
