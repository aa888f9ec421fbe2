/**
 * Header matching for labelled CSV exports: labels are compared after BOM removal, trimming and
 * Unicode NFC normalisation (an accented label may come decomposed); order does not matter and
 * extra columns are allowed. The first occurrence of a repeated label wins.
 */

/** Canonical form of a header label. */
export function normalizeLabel(label: string): string {
  let s = label;
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  return s.trim().normalize('NFC');
}

export interface HeaderMatch<K extends string> {
  /** Column index of each label found. */
  index: Partial<Record<K, number>>;
  /** Labels of `required` that are absent, in the order given. */
  missing: K[];
  /** Number of fields of the header record (what every data record must have). */
  width: number;
}

/** Locate `labels` in a header record. */
export function matchHeader<K extends string>(fields: readonly string[], labels: readonly K[], required: readonly K[]): HeaderMatch<K> {
  const pos = new Map<string, number>();
  fields.forEach((f, i) => {
    const k = normalizeLabel(f);
    if (!pos.has(k)) pos.set(k, i);
  });
  const index: Partial<Record<K, number>> = {};
  for (const l of labels) {
    const i = pos.get(normalizeLabel(l));
    if (i !== undefined) index[l] = i;
  }
  const missing = required.filter((l) => index[l] === undefined);
  return { index, missing, width: fields.length };
}
