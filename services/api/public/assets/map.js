// Choropleth of the 20 arrondissements, drawn as SVG from the polygons served by the api.
import { arrLabel, empty, fmt, h, s } from './dom.js';

let geoPromise = null;
function loadGeo() {
  if (!geoPromise) {
    geoPromise = fetch('assets/arrondissements.geojson').then((r) => {
      if (!r.ok) throw new Error(`polygones indisponibles (${r.status})`);
      return r.json();
    });
    geoPromise.catch(() => (geoPromise = null));
  }
  return geoPromise;
}

const codeOf = (f) => `750${String(f.properties?.c_ar ?? '').padStart(2, '0')}`;

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

const RAMPS = {
  blue: ['#eaf1fb', '#08519c'],
  orange: ['#fff1e0', '#b34700'],
  green: ['#e8f5ec', '#1d6b3c'],
  red: ['#fdecec', '#a01818'],
};

function mix(a, b, t) {
  const pa = [1, 3, 5].map((i) => parseInt(a.slice(i, i + 2), 16));
  const pb = [1, 3, 5].map((i) => parseInt(b.slice(i, i + 2), 16));
  return `rgb(${pa.map((v, i) => Math.round(v + (pb[i] - v) * t)).join(',')})`;
}

/**
 * values: {"75001": number, …}. Returns an element at once; the SVG is filled in when the
 * polygons have loaded.
 */
export function arrondissementMap(values, opts = {}) {
  const entries = Object.entries(values ?? {}).filter(([k, v]) => /^750\d\d$/.test(k) && typeof v === 'number' && Number.isFinite(v));
  if (!entries.length) return empty(opts.empty ?? 'Aucune donnée par arrondissement');
  const holder = h('div', { class: 'map' }, h('p', { class: 'loading' }, 'Chargement de la carte…'));
  const format = opts.format ?? fmt.int;
  const [c0, c1] = RAMPS[opts.ramp ?? 'blue'];
  const nums = entries.map(([, v]) => v);
  const min = Math.min(...nums, 0);
  const max = Math.max(...nums);
  const scale = (v) => (max > min ? (v - min) / (max - min) : 1);
  loadGeo()
    .then((geo) => {
      const feats = geo.features ?? [];
      let minLon = Infinity, maxLon = -Infinity, minLat = Infinity, maxLat = -Infinity;
      for (const f of feats) for (const ring of rings(f.geometry)) for (const [lon, lat] of ring) {
        minLon = Math.min(minLon, lon); maxLon = Math.max(maxLon, lon);
        minLat = Math.min(minLat, lat); maxLat = Math.max(maxLat, lat);
      }
      // Equirectangular projection, corrected for Paris' latitude.
      const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
      const W = 640;
      const pad = 8;
      const sx = (W - 2 * pad) / ((maxLon - minLon) * k);
      const H = Math.round((maxLat - minLat) * sx + 2 * pad);
      const X = (lon) => pad + (lon - minLon) * k * sx;
      const Y = (lat) => pad + (maxLat - lat) * sx;
      const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': opts.title ?? 'carte des arrondissements' });
      const map = Object.fromEntries(entries);
      for (const f of feats) {
        const code = codeOf(f);
        const v = map[code];
        const d = rings(f.geometry).map((ring) => `M${ring.map(([lon, lat]) => `${X(lon).toFixed(1)},${Y(lat).toFixed(1)}`).join('L')}Z`).join('');
        const name = f.properties?.l_aroff ? `${arrLabel(code)} (${f.properties.l_aroff})` : arrLabel(code);
        svg.append(
          s('path', { d, fill: v === undefined ? '#f1f2f4' : mix(c0, c1, scale(v)), stroke: '#ffffff', 'stroke-width': 1.2 }, s('title', {}, `${name} : ${v === undefined ? 'aucune donnée' : format(v)}`)),
        );
      }
      for (const f of feats) {
        const c = f.properties?.geom_x_y;
        if (!c) continue;
        const v = map[codeOf(f)];
        const dark = v !== undefined && scale(v) > 0.55;
        svg.append(s('text', { x: X(c.lon), y: Y(c.lat) + 4, 'text-anchor': 'middle', 'font-size': 11, 'pointer-events': 'none', fill: dark ? '#ffffff' : '#344054' }, String(f.properties.c_ar)));
      }
      const legend = h(
        'div',
        { class: 'legend' },
        h('span', {}, h('span', { class: 'swatch', style: { background: mix(c0, c1, 0) } }), format(min)),
        h('span', {}, h('span', { class: 'swatch', style: { background: mix(c0, c1, 0.5) } }), format((min + max) / 2)),
        h('span', {}, h('span', { class: 'swatch', style: { background: mix(c0, c1, 1) } }), format(max)),
        h('span', {}, h('span', { class: 'swatch', style: { background: '#f1f2f4', border: '1px solid #ddd' } }), 'aucune donnée'),
        opts.caption ? h('span', {}, opts.caption) : null,
      );
      holder.replaceChildren(svg, legend);
    })
    .catch((e) => holder.replaceChildren(h('p', { class: 'error' }, `Carte indisponible : ${e.message}`)));
  return holder;
}
