// Inline-SVG charts: horizontal bars, hourly columns, a donut. No library.
import { fmt, h, s, empty } from './dom.js';

export const PALETTE = ['#1f5fbf', '#2e9d58', '#e8720c', '#8e44ad', '#c62828', '#16a2b8', '#e6a700', '#6d4c41', '#5c6bc0', '#7cb342'];

function truncate(text, n) {
  const t = String(text ?? '');
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

/**
 * Horizontal bar chart. items: [{label, value, color?, title?}]
 */
export function barChart(items, opts = {}) {
  const data = (items ?? []).filter((d) => typeof d.value === 'number' && Number.isFinite(d.value));
  if (!data.length) return empty(opts.empty);
  const format = opts.format ?? fmt.int;
  const labelW = opts.labelWidth ?? 190;
  const W = 640;
  const row = 24;
  const valueW = 90;
  const H = data.length * row + 6;
  const max = Math.max(...data.map((d) => d.value), 0) || 1;
  const barMax = W - labelW - valueW - 10;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': opts.title ?? 'diagramme en barres' });
  data.forEach((d, i) => {
    const y = i * row + 3;
    const w = Math.max(1, (Math.max(d.value, 0) / max) * barMax);
    const g = s('g', {}, s('title', {}, `${d.title ?? d.label} : ${format(d.value)}`));
    g.append(
      s('text', { x: labelW - 8, y: y + 15, 'text-anchor': 'end', 'font-size': 12, fill: '#1d2430' }, truncate(d.label, Math.floor(labelW / 6.6))),
      s('rect', { x: labelW, y: y + 3, width: w, height: row - 8, rx: 3, fill: d.color ?? opts.color ?? PALETTE[0] }),
      s('text', { x: labelW + w + 6, y: y + 15, 'font-size': 12, fill: '#475467' }, format(d.value)),
    );
    svg.append(g);
  });
  return svg;
}

/**
 * Vertical columns, e.g. an hourly profile. items: [{label, value, title?}]
 */
export function columnChart(items, opts = {}) {
  const data = (items ?? []).map((d) => ({ ...d, value: typeof d.value === 'number' && Number.isFinite(d.value) ? d.value : null }));
  if (!data.some((d) => d.value !== null)) return empty(opts.empty);
  const format = opts.format ?? fmt.int;
  const W = 640;
  const H = 220;
  const left = 56;
  const bottom = 24;
  const top = 10;
  const plotW = W - left - 8;
  const plotH = H - top - bottom;
  const max = Math.max(...data.map((d) => d.value ?? 0), 0) || 1;
  const step = plotW / data.length;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': opts.title ?? 'histogramme' });
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH - f * plotH;
    svg.append(s('line', { x1: left, x2: W - 8, y1: y, y2: y, stroke: '#e3e6eb' }), s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#667085' }, (opts.axisFormat ?? fmt.compact)(max * f)));
  }
  const labelEvery = Math.ceil(data.length / 12);
  data.forEach((d, i) => {
    const x = left + i * step;
    const bh = d.value === null ? 0 : (Math.max(d.value, 0) / max) * plotH;
    const g = s('g', {}, s('title', {}, `${d.title ?? d.label} : ${d.value === null ? 'pas de mesure' : format(d.value)}`));
    g.append(s('rect', { x: x + step * 0.12, y: top + plotH - bh, width: step * 0.76, height: Math.max(bh, d.value === null ? 0 : 1), rx: 2, fill: opts.color ?? PALETTE[0] }));
    if (i % labelEvery === 0) g.append(s('text', { x: x + step / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 11, fill: '#667085' }, d.label));
    svg.append(g);
  });
  return svg;
}

/**
 * Donut with a legend. items: [{label, value, color?}]
 */
export function donutChart(items, opts = {}) {
  const data = (items ?? []).filter((d) => typeof d.value === 'number' && d.value > 0);
  const total = data.reduce((a, d) => a + d.value, 0);
  if (!total) return empty(opts.empty);
  const format = opts.format ?? fmt.int;
  const R = 80;
  const r = 48;
  const C = 100;
  const svg = s('svg', { viewBox: '0 0 200 200', width: 200, height: 200, role: 'img', 'aria-label': opts.title ?? 'répartition' });
  let a0 = -Math.PI / 2;
  data.forEach((d, i) => {
    const frac = d.value / total;
    const color = d.color ?? PALETTE[i % PALETTE.length];
    const title = s('title', {}, `${d.label} : ${format(d.value)} (${fmt.dec1(frac * 100)} %)`);
    if (frac >= 0.9999) {
      svg.append(s('g', {}, title, s('circle', { cx: C, cy: C, r: (R + r) / 2, fill: 'none', stroke: color, 'stroke-width': R - r })));
      return;
    }
    const a1 = a0 + frac * 2 * Math.PI;
    const large = a1 - a0 > Math.PI ? 1 : 0;
    const p = (rad, a) => `${C + rad * Math.cos(a)},${C + rad * Math.sin(a)}`;
    const path = `M${p(R, a0)} A${R},${R} 0 ${large} 1 ${p(R, a1)} L${p(r, a1)} A${r},${r} 0 ${large} 0 ${p(r, a0)} Z`;
    svg.append(s('g', {}, title, s('path', { d: path, fill: color })));
    a0 = a1;
  });
  svg.append(s('text', { x: C, y: C + 5, 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 600, fill: '#1d2430' }, format(total)));
  const legend = h(
    'div',
    { class: 'legend' },
    data.map((d, i) => h('span', {}, h('span', { class: 'swatch', style: { background: d.color ?? PALETTE[i % PALETTE.length] } }), `${d.label} ${fmt.dec1((d.value / total) * 100)} %`)),
  );
  return h('div', { style: { display: 'flex', gap: '1rem', alignItems: 'center', flexWrap: 'wrap' } }, svg, legend);
}
