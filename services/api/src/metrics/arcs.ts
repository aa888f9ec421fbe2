import type { ArcMetric } from '@cityflow/domain';
import { errors } from '../common/api-error';

/** Fields an arc list can be sorted by; `-field` sorts descending. */
export const ARC_SORT_FIELDS = [
  'identifiant_arc',
  'libelle',
  'arrondissement',
  'debit_journalier_total',
  'debit_horaire_moyen',
  'debit_max',
  'taux_occupation_moyen',
  'heures_mesurees',
  'temps_perdu_minutes',
  'temps_perdu_total_minutes',
] as const;
export type ArcSortField = (typeof ARC_SORT_FIELDS)[number];
export const DEFAULT_ARC_SORT = '-debit_journalier_total';

export interface ArcQuery {
  page: number;
  limit: number;
  arrondissement?: string;
  sort: string;
}

export interface ArcPage {
  date: string;
  page: number;
  limit: number;
  total: number;
  pages: number;
  sort: string;
  arrondissement: string | null;
  items: ArcMetric[];
}

const ARRONDISSEMENT_RE = /^750(0[1-9]|1\d|20)$/;

/** `75001`…`75020`, `1`…`20` (shorthand) or `Hors Paris`. */
export function parseArrondissement(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (ARRONDISSEMENT_RE.test(raw)) return raw;
  if (/^\d{1,2}$/.test(raw) && +raw >= 1 && +raw <= 20) return `750${raw.padStart(2, '0')}`;
  if (raw.toLowerCase() === 'hors paris') return 'Hors Paris';
  throw errors.badParam('arrondissement', '75001 à 75020, 1 à 20, ou "Hors Paris"');
}

export function parseSort(raw: string | undefined): { field: ArcSortField; desc: boolean; text: string } {
  const text = raw ?? DEFAULT_ARC_SORT;
  const desc = text.startsWith('-');
  const field = (desc ? text.slice(1) : text) as ArcSortField;
  if (!(ARC_SORT_FIELDS as readonly string[]).includes(field)) throw errors.badParam('sort', `un de ${ARC_SORT_FIELDS.join(', ')}, préfixé de "-" pour l'ordre décroissant`);
  return { field, desc, text };
}

const collator = new Intl.Collator('fr', { numeric: true, sensitivity: 'base' });

/** Filter, sort (nulls last, ties by arc id) and cut one page of a comptages document's arcs. */
export function pageArcs(date: string, arcs: ArcMetric[], q: ArcQuery): ArcPage {
  const sort = parseSort(q.sort);
  const filtered = q.arrondissement ? arcs.filter((a) => a.arrondissement === q.arrondissement) : arcs.slice();
  const dir = sort.desc ? -1 : 1;
  filtered.sort((a, b) => {
    const va = a[sort.field] as unknown;
    const vb = b[sort.field] as unknown;
    const na = va === null || va === undefined;
    const nb = vb === null || vb === undefined;
    let c: number;
    if (na || nb) c = na && nb ? 0 : na ? 1 : -1;
    else if (typeof va === 'number' && typeof vb === 'number') c = dir * (va - vb);
    else c = dir * collator.compare(String(va), String(vb));
    return c || collator.compare(a.identifiant_arc, b.identifiant_arc);
  });
  const start = (q.page - 1) * q.limit;
  return {
    date,
    page: q.page,
    limit: q.limit,
    total: filtered.length,
    pages: Math.max(1, Math.ceil(filtered.length / q.limit)),
    sort: sort.text,
    arrondissement: q.arrondissement ?? null,
    items: filtered.slice(start, start + q.limit),
  };
}
