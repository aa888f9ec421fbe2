/**
 * Splitting a document that is too large for one stored item (DynamoDB: 400 KB, MongoDB: 16 MB)
 * into a head and pages, and joining them back. Backend-neutral: sizes come from a SizeModel that
 * mirrors how the backend measures what it stores.
 *
 * The scheme:
 * - While the head (the document with every split container emptied) is over its budget, the
 *   largest array or object still in the head whose every entry fits in one page is split: its
 *   entries (array items, or `[key, value]` pairs for an object) move, in order, into pages of at
 *   most `pageBudget`, and the head keeps an empty container of the same kind in its place.
 *   A comptages day therefore keeps its small fields in the head and its ~3,500 `metrics` entries
 *   in pages; the référentiel's `mapping` object is split the same way.
 * - A container split later may be an ancestor of one split earlier (once the inner one is emptied,
 *   the outer one's entries become small enough). Joining therefore fills splits in reverse order.
 * - Nothing is split below a split container, so a single entry larger than a page (one long
 *   string, say) cannot be stored: DocumentTooLargeError, before anything is written.
 */
import { DocumentTooLargeError, InconsistentDocumentError } from './store-errors';
import { childPath } from './storable';
import { setOwn } from './stored-keys';

export type PathStep = string | number;
export type ContainerKind = 'array' | 'object';

/** How a backend measures stored sizes. Every figure is an upper bound of the real size. */
export interface SizeModel {
  /** A string, number, boolean or null. */
  scalar(value: string | number | boolean | null): number;
  /** Fixed part of an array/object with `count` entries. */
  container(kind: ContainerKind, count: number): number;
  /** What one entry adds to its container (its key for objects, its value of `valueSize`). */
  entry(kind: ContainerKind, key: PathStep, valueSize: number, count: number): number;
  /** What one entry adds to a page (an array item, or an object's `[key, value]` pair). */
  pageEntry(kind: ContainerKind, key: PathStep, valueSize: number): number;
  /** What the record of one split container adds to the head. */
  splitRef(path: PathStep[]): number;
}

export interface SplitLimits {
  /** Budget of the head value (the caller has taken its other attributes off already). */
  headBudget: number;
  /** Budget of the entries of one page. */
  pageBudget: number;
}

/** One split container: where it sits in the head, its kind, and how many pages hold its entries. */
export interface SplitRef {
  path: PathStep[];
  kind: ContainerKind;
  pages: number;
}

/** One page: entries of splits[split], in order (`[key, value]` pairs when the container is an object). */
export interface SplitPage {
  split: number;
  entries: unknown[];
}

export interface SplitPlan {
  head: unknown;
  splits: SplitRef[];
  pages: SplitPage[];
}

interface Node {
  kind: ContainerKind;
  value: unknown[] | Record<string, unknown>;
  keys: PathStep[];
  /** Current stored size of each entry's value (shrinks when a container below is split). */
  valueSizes: number[];
  /** The node of each entry that is itself a container. */
  children: (Node | undefined)[];
  parent?: Node;
  indexInParent: number;
  size: number;
  split: boolean;
  splitBelow: boolean;
}

function isContainer(value: unknown): value is unknown[] | Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/** Stored size of a value under `model` (a validated JSON value). */
export function storedSize(value: unknown, model: SizeModel): number {
  if (!isContainer(value)) return model.scalar(value as string | number | boolean | null);
  if (Array.isArray(value)) {
    let size = model.container('array', value.length);
    for (let i = 0; i < value.length; i++) size += model.entry('array', i, storedSize(value[i], model), value.length);
    return size;
  }
  const keys = Object.keys(value);
  let size = model.container('object', keys.length);
  for (const k of keys) size += model.entry('object', k, storedSize(value[k], model), keys.length);
  return size;
}

function buildNode(value: unknown[] | Record<string, unknown>, model: SizeModel, parent: Node | undefined, indexInParent: number): Node {
  const kind: ContainerKind = Array.isArray(value) ? 'array' : 'object';
  const keys: PathStep[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  const node: Node = { kind, value, keys, valueSizes: [], children: [], parent, indexInParent, size: 0, split: false, splitBelow: false };
  let size = model.container(kind, keys.length);
  keys.forEach((k, i) => {
    const v = (value as Record<PathStep, unknown>)[k];
    let vs: number;
    if (isContainer(v)) {
      const child = buildNode(v, model, node, i);
      node.children[i] = child;
      vs = child.size;
    } else {
      vs = model.scalar(v as string | number | boolean | null);
    }
    node.valueSizes[i] = vs;
    size += model.entry(kind, k, vs, keys.length);
  });
  node.size = size;
  return node;
}

function pathOf(node: Node): PathStep[] {
  const path: PathStep[] = [];
  for (let n: Node = node; n.parent; n = n.parent) path.unshift(n.parent.keys[n.indexInParent]);
  return path;
}

export function jsonPath(path: PathStep[]): string {
  return path.reduce<string>((p, step) => childPath(p, step), '$');
}

/** Empty the container of `node` in the head and update the sizes of its ancestors. */
function markSplit(node: Node, model: SizeModel): void {
  node.split = true;
  let newSize = model.container(node.kind, 0);
  let child = node;
  child.size = newSize;
  for (let p = node.parent; p; child = p, p = p.parent) {
    const i = child.indexInParent;
    const count = p.keys.length;
    const before = model.entry(p.kind, p.keys[i], p.valueSizes[i], count);
    p.valueSizes[i] = newSize;
    p.size += model.entry(p.kind, p.keys[i], newSize, count) - before;
    p.splitBelow = true;
    newSize = p.size;
  }
}

/** Containers still in the head: not split, and not inside a split container. */
function* headContainers(node: Node): Generator<Node> {
  if (node.split) return;
  yield node;
  for (const c of node.children) if (c) yield* headContainers(c);
}

function isPageable(node: Node, model: SizeModel, pageBudget: number): boolean {
  if (!node.keys.length) return false;
  for (let i = 0; i < node.keys.length; i++) {
    if (model.pageEntry(node.kind, node.keys[i], node.valueSizes[i]) > pageBudget) return false;
  }
  return true;
}

/** The largest value left in the head when nothing more can be split: what makes the document too large. */
function culprit(root: Node): { path: PathStep[]; size: number } {
  let node = root;
  for (;;) {
    let best = -1;
    node.valueSizes.forEach((s, i) => {
      if (best < 0 || s > node.valueSizes[best]) best = i;
    });
    const child = node.children[best];
    if (child && !child.split && child.keys.length) node = child;
    else return { path: [...pathOf(node), node.keys[best]], size: node.valueSizes[best] };
  }
}

/** The value of `node` as it goes into the head or a page: split containers empty, the rest unchanged. */
function materialize(node: Node): unknown {
  if (node.split) return node.kind === 'array' ? [] : {};
  if (!node.splitBelow) return node.value;
  const pick = (i: number) => {
    const child = node.children[i];
    return child ? materialize(child) : (node.value as Record<PathStep, unknown>)[node.keys[i]];
  };
  if (node.kind === 'array') return node.keys.map((_, i) => pick(i));
  const out: Record<string, unknown> = {};
  node.keys.forEach((k, i) => setOwn(out, k as string, pick(i)));
  return out;
}

/**
 * Plan how to store `doc` within `limits`: unchanged when it fits, otherwise a head and pages.
 * The document is not modified; the plan shares its unsplit parts. Throws DocumentTooLargeError
 * when some value cannot be made to fit.
 */
export function splitDoc(doc: unknown, model: SizeModel, limits: SplitLimits): SplitPlan {
  if (!isContainer(doc)) {
    const size = model.scalar(doc as string | number | boolean | null);
    if (size > limits.headBudget) throw new DocumentTooLargeError('$', size, limits.headBudget);
    return { head: doc, splits: [], pages: [] };
  }
  if (storedSize(doc, model) <= limits.headBudget) return { head: doc, splits: [], pages: [] };

  const root = buildNode(doc, model, undefined, -1);
  const splitNodes: Node[] = [];
  let refs = 0;
  while (root.size + refs > limits.headBudget) {
    let best: Node | undefined;
    for (const n of headContainers(root)) {
      if ((!best || n.size > best.size) && isPageable(n, model, limits.pageBudget)) best = n;
    }
    if (!best) {
      const c = culprit(root);
      throw new DocumentTooLargeError(jsonPath(c.path), c.size, Math.min(limits.pageBudget, limits.headBudget));
    }
    markSplit(best, model);
    splitNodes.push(best);
    refs += model.splitRef(pathOf(best));
  }

  const splits: SplitRef[] = [];
  const pages: SplitPage[] = [];
  splitNodes.forEach((node, s) => {
    const first = pages.length;
    let page: SplitPage | undefined;
    let used = 0;
    node.keys.forEach((k, i) => {
      const cost = model.pageEntry(node.kind, k, node.valueSizes[i]);
      if (!page || used + cost > limits.pageBudget) {
        page = { split: s, entries: [] };
        pages.push(page);
        used = 0;
      }
      const child = node.children[i];
      const value = child ? materialize(child) : (node.value as Record<PathStep, unknown>)[k];
      page.entries.push(node.kind === 'array' ? value : [k, value]);
      used += cost;
    });
    splits.push({ path: pathOf(node), kind: node.kind, pages: pages.length - first });
  });
  return { head: materialize(root), splits, pages };
}

/**
 * Rebuild a document from its head and pages (pages in stored order). Throws
 * InconsistentDocumentError, naming `key`, when they do not fit together; never returns a
 * partial document.
 */
export function joinDoc(head: unknown, splits: SplitRef[], pages: SplitPage[], key: string): unknown {
  const bySplit: SplitPage[][] = splits.map(() => []);
  for (const p of pages) {
    if (!Number.isInteger(p.split) || !bySplit[p.split]) throw new InconsistentDocumentError(key, `a part names split ${p.split}, the head has ${splits.length}`);
    bySplit[p.split].push(p);
  }
  for (let s = splits.length - 1; s >= 0; s--) {
    const ref = splits[s];
    if (bySplit[s].length !== ref.pages) throw new InconsistentDocumentError(key, `split ${s} has ${bySplit[s].length} parts, the head says ${ref.pages}`);
    let target: unknown = head;
    for (const step of ref.path) {
      const ok = isContainer(target) && (Array.isArray(target) ? typeof step === 'number' && step < target.length : typeof step === 'string' && Object.prototype.hasOwnProperty.call(target, step));
      if (!ok) throw new InconsistentDocumentError(key, `split ${s} points at ${jsonPath(ref.path)}, which the head lacks`);
      target = (target as Record<PathStep, unknown>)[step];
    }
    const kindOk = ref.kind === 'array' ? Array.isArray(target) && target.length === 0 : isContainer(target) && !Array.isArray(target) && Object.keys(target).length === 0;
    if (!kindOk) throw new InconsistentDocumentError(key, `split ${s} at ${jsonPath(ref.path)} is not an empty ${ref.kind} in the head`);
    for (const page of bySplit[s]) {
      for (const entry of page.entries) {
        if (ref.kind === 'array') (target as unknown[]).push(entry);
        else {
          if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw new InconsistentDocumentError(key, `split ${s} has an entry that is not a [key, value] pair`);
          setOwn(target as Record<string, unknown>, entry[0], entry[1]);
        }
      }
    }
  }
  return head;
}

/** Cut bytes into pieces of at most `pieceSize` (none for an empty buffer). Views, not copies. */
export function splitBytes(bytes: Uint8Array, pieceSize: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += pieceSize) pieces.push(bytes.subarray(at, Math.min(bytes.length, at + pieceSize)));
  return pieces;
}
