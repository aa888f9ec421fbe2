/**
 * comptages partial of one (chunk, Paris day): the accepted rows as columns, plus the arcs they
 * name. Columns keep row order, so merging partials in (file, chunk) order and keeping the first
 * (arc, hour) gives the same result however the file was cut.
 *
 * A partial is stored as bytes (`encodeComptagesPartial`): a small JSON head (day, arcs) and
 * the columns as raw little-endian arrays. A 50,000-row chunk is about 1.1 MB, and decoding it
 * is a copy, where the same rows as JSON tuples took about 2 MB and a JSON parse.
 */
import type { EtatTrafic } from '../../shared/metrics-types';
import { ETATS_TRAFIC } from './constants';

/** One arc named by the rows of a partial, with the first non-empty label / usable point seen. */
export interface PartialArc {
  /** Canonical arc id (`0042` → `42`). */
  id: string;
  libelle: string;
  /** `lat, lon`, or null when no row of the arc in this partial had a usable point. */
  geo_point_2d: string | null;
}

export interface ComptagesPartial {
  /** The Paris day every row belongs to. */
  day: string;
  arcs: PartialArc[];
  /** Accepted rows of this partial. */
  rows: number;
  /** Per row: index into `arcs`. */
  arc: Uint32Array;
  /** Per row: hour of the day, 0 = the hour starting at local midnight (0…24 on a 25-hour day). */
  hour: Uint8Array;
  /** Per row: Débit horaire, NaN when the cell was empty. */
  debit: Float64Array;
  /** Per row: Taux d'occupation (%), NaN when the cell was empty. */
  taux: Float64Array;
  /** Per row: index into ETATS_TRAFIC. */
  etat: Uint8Array;
}

/** Index of each normalised état in ETATS_TRAFIC (the `etat` column stores it). */
export const ETAT_CODE: Readonly<Record<EtatTrafic, number>> = Object.fromEntries(ETATS_TRAFIC.map((e, i) => [e, i])) as Record<EtatTrafic, number>;

/** Collects the rows of one (chunk, day) while a chunk is scanned. */
export class PartialBuilder {
  readonly arcs: PartialArc[] = [];
  /** Arc number → index in `arcs`. Arc ids are at most 15 digits, exact as numbers. */
  private readonly arcIndex = new Map<number, number>();
  rows = 0;
  private arc: Uint32Array;
  private hour: Uint8Array;
  private debit: Float64Array;
  private taux: Float64Array;
  private etat: Uint8Array;

  constructor(
    readonly day: string,
    /** Epoch hour (ms / 3,600,000) of the day's local midnight. */
    readonly midnightHour: number,
    capacity = 1024,
  ) {
    this.arc = new Uint32Array(capacity);
    this.hour = new Uint8Array(capacity);
    this.debit = new Float64Array(capacity);
    this.taux = new Float64Array(capacity);
    this.etat = new Uint8Array(capacity);
  }

  /**
   * Index of arc `num` in this partial, adding it when new (`id` is its canonical text). The
   * caller fills `libelle` / `geo_point_2d` while they are still empty.
   */
  arcSlot(num: number): number {
    const i = this.arcIndex.get(num);
    if (i !== undefined) return i;
    const j = this.arcs.length;
    this.arcs.push({ id: String(num), libelle: '', geo_point_2d: null });
    this.arcIndex.set(num, j);
    return j;
  }

  push(arcSlot: number, hour: number, debit: number, taux: number, etat: number): void {
    if (this.rows === this.arc.length) this.grow();
    const r = this.rows++;
    this.arc[r] = arcSlot;
    this.hour[r] = hour;
    this.debit[r] = debit;
    this.taux[r] = taux;
    this.etat[r] = etat;
  }

  private grow(): void {
    const n = this.arc.length * 2;
    const copy = <T extends Uint32Array | Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.arc = copy(this.arc, (k) => new Uint32Array(k));
    this.hour = copy(this.hour, (k) => new Uint8Array(k));
    this.debit = copy(this.debit, (k) => new Float64Array(k));
    this.taux = copy(this.taux, (k) => new Float64Array(k));
    this.etat = copy(this.etat, (k) => new Uint8Array(k));
  }

  build(): ComptagesPartial {
    const n = this.rows;
    return {
      day: this.day,
      arcs: this.arcs,
      rows: n,
      arc: this.arc.slice(0, n),
      hour: this.hour.slice(0, n),
      debit: this.debit.slice(0, n),
      taux: this.taux.slice(0, n),
      etat: this.etat.slice(0, n),
    };
  }
}

/**
 * Partials of one day, one after the other, as a single partial: rows in the order given, arcs in
 * first-seen order, each arc's label / point the first non-empty one. Merging the result gives
 * exactly what merging the list gives (the merge keeps the first row of an (arc, hour) either way).
 */
export function concatComptagesPartials(parts: ComptagesPartial[]): ComptagesPartial {
  if (!parts.length) throw new RangeError('concatComptagesPartials needs at least one partial');
  const day = parts[0].day;
  const out = new PartialBuilder(day, 0, Math.max(1, parts.reduce((n, p) => n + p.rows, 0)));
  for (const p of parts) {
    if (p.day !== day) throw new RangeError(`cannot concatenate partials of ${day} and ${p.day}`);
    const slots = p.arcs.map((a) => {
      const i = out.arcSlot(Number(a.id));
      const arc = out.arcs[i];
      if (arc.libelle === '') arc.libelle = a.libelle;
      if (arc.geo_point_2d === null) arc.geo_point_2d = a.geo_point_2d;
      return i;
    });
    for (let r = 0; r < p.rows; r++) out.push(slots[p.arc[r]], p.hour[r], p.debit[r], p.taux[r], p.etat[r]);
  }
  return out.build();
}

// ───────────────────────────── bytes ─────────────────────────────
//
//   "CFCP" | u32 version (1) | u32 head length H | head: UTF-8 JSON { day, rows, ids, libelles, points }
//   | zero padding to a multiple of 8 | debit f64[rows] | taux f64[rows] | arc u32[rows]
//   | hour u8[rows] | etat u8[rows]
//
// Little-endian throughout (typed arrays are written as they lie in memory; every platform Node
// supports is little-endian, and decoding checks it).

const MAGIC = 0x50434643; // "CFCP" read as a little-endian u32
const FORMAT_VERSION = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A stored partial that cannot be read back (truncated, other format): the chunk must be redone. */
export class PartialFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartialFormatError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function encodeComptagesPartial(p: ComptagesPartial): Buffer {
  if (!LITTLE_ENDIAN) throw new Error('comptages partials need a little-endian platform');
  // Arcs as three parallel lists: a third of the keys to parse back.
  const head = Buffer.from(
    JSON.stringify({ day: p.day, rows: p.rows, ids: p.arcs.map((a) => a.id), libelles: p.arcs.map((a) => a.libelle), points: p.arcs.map((a) => a.geo_point_2d) }),
    'utf8',
  );
  const n = p.rows;
  const colStart = align8(12 + head.length);
  const total = colStart + n * (8 + 8 + 4 + 1 + 1);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(FORMAT_VERSION, 4);
  out.writeUInt32LE(head.length, 8);
  head.copy(out, 12);
  let o = colStart;
  for (const col of [p.debit, p.taux, p.arc, p.hour, p.etat]) {
    const bytes = Buffer.from(col.buffer, col.byteOffset, n * col.BYTES_PER_ELEMENT);
    bytes.copy(out, o);
    o += bytes.length;
  }
  return out;
}

export function decodeComptagesPartial(buf: Buffer): ComptagesPartial {
  if (!LITTLE_ENDIAN) throw new Error('comptages partials need a little-endian platform');
  if (buf.length < 12 || buf.readUInt32LE(0) !== MAGIC) throw new PartialFormatError('not a comptages partial');
  const version = buf.readUInt32LE(4);
  if (version !== FORMAT_VERSION) throw new PartialFormatError(`comptages partial format ${version}, expected ${FORMAT_VERSION}`);
  const headLen = buf.readUInt32LE(8);
  if (12 + headLen > buf.length) throw new PartialFormatError('comptages partial: truncated head');
  const head = JSON.parse(buf.toString('utf8', 12, 12 + headLen)) as { day: string; rows: number; ids: string[]; libelles: string[]; points: (string | null)[] };
  const n = head.rows;
  const colStart = align8(12 + headLen);
  if (buf.length !== colStart + n * 22) throw new PartialFormatError(`comptages partial: ${buf.length} bytes, expected ${colStart + n * 22}`);
  // Copy the columns into fresh (aligned) arrays: the Buffer may sit at any offset of a pool.
  let o = buf.byteOffset + colStart;
  const take = <T>(make: (ab: ArrayBuffer) => T, bytes: number): T => {
    const ab = buf.buffer.slice(o, o + bytes) as ArrayBuffer;
    o += bytes;
    return make(ab);
  };
  return {
    day: head.day,
    arcs: head.ids.map((id, i) => ({ id, libelle: head.libelles[i], geo_point_2d: head.points[i] })),
    rows: n,
    debit: take((ab) => new Float64Array(ab), n * 8),
    taux: take((ab) => new Float64Array(ab), n * 8),
    arc: take((ab) => new Uint32Array(ab), n * 4),
    hour: take((ab) => new Uint8Array(ab), n),
    etat: take((ab) => new Uint8Array(ab), n),
  };
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
