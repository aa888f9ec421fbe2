// Small DOM and formatting helpers. Text always goes through textContent: data from open-data
// feeds (street names, disruption titles) is never parsed as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** h('div', {class: 'x', onclick: fn}, child, …) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return append(el, children);
}

/** Same for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    el.setAttribute(k, String(v));
  }
  return append(el, children);
}

const nf0 = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 });
const nfc = new Intl.NumberFormat('fr-FR', { notation: 'compact', maximumFractionDigits: 1 });

const stampFormat = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' });

const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
export const fmt = {
  int: (x) => (isNum(x) ? nf0.format(x) : '—'),
  dec1: (x) => (isNum(x) ? nf1.format(x) : '—'),
  dec2: (x) => (isNum(x) ? nf2.format(x) : '—'),
  /** Short axis label: 1 097 873 → "1,1 M". */
  compact: (x) => (isNum(x) ? nfc.format(x) : '—'),
  pct: (x) => (isNum(x) ? `${nf1.format(x)} %` : '—'),
  hours: (minutes) => (isNum(minutes) ? `${nf1.format(minutes / 60)} h` : '—'),
  /** "2025-11-04T08:00:00+01:00" → "08h" */
  hour: (iso) => (typeof iso === 'string' && iso.length >= 13 ? `${iso.slice(11, 13)}h` : '—'),
  /** ISO instant → "04/11 08:00", Paris time. */
  stamp: (iso) => {
    const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
    return Number.isFinite(t) ? stampFormat.format(new Date(t)).replace(',', '') : '—';
  },
  day: (d) => {
    if (typeof d !== 'string') return '—';
    const [y, m, dd] = d.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, dd)).toLocaleDateString('fr-FR', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  },
  size: (b) => {
    if (!isNum(b)) return '—';
    const u = ['o', 'ko', 'Mo', 'Go'];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return `${nf1.format(b)} ${u[i]}`;
  },
};

/** "75008" → "8e", "75001" → "1er"; anything else unchanged. */
export function arrLabel(code) {
  const m = /^750(\d\d)$/.exec(String(code ?? ''));
  if (!m) return code === null || code === undefined || code === '' ? 'Inconnu' : String(code);
  const n = Number(m[1]);
  return n === 1 ? '1er' : `${n}e`;
}

export const empty = (text = 'Aucune donnée') => h('p', { class: 'empty' }, text);

export function card(title, body, opts = {}) {
  return h('section', { class: `card${opts.wide ? ' wide' : ''}` }, h('div', { class: 'card-head' }, h('h3', {}, title), opts.tools ?? null), body);
}

export function kpi(label, value, sub, color) {
  return h('div', { class: 'kpi', style: color ? { borderLeftColor: color } : null }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), sub ? h('div', { class: 'sub' }, sub) : null);
}

export const kpis = (...items) => h('div', { class: 'kpis' }, items);
export const grid = (...items) => h('div', { class: 'grid' }, items);

/** columns: [{label, value: row => text|Node, num?: bool}] */
export function table(columns, rows, opts = {}) {
  if (!rows || !rows.length) return empty(opts.empty ?? 'Aucune donnée');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.value(r)))))),
    ),
  );
}

export function chip(text, kind = '') {
  return h('span', { class: `chip ${kind}` }, text);
}

export function progressBar(percent, state) {
  const p = Math.max(0, Math.min(100, Number(percent) || 0));
  const cls = state === 'failed' ? 'failed' : p >= 100 ? 'done' : '';
  return h('div', { class: `progress ${cls}`, role: 'progressbar', 'aria-valuenow': p, 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span', { style: { width: `${p}%` } }), h('em', {}, `${fmt.dec1(p)} %`));
}
