/**
 * Geographic helpers: arrondissement lookup on the real Paris polygons, lengths and geodesic areas.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type LonLat = [number, number];
type Ring = LonLat[];

export const EARTH_RADIUS_M = 6_371_000;
/** WGS84 semi-major axis, used for the geodesic area (same constant as GeoJSON area tools). */
const WGS84_RADIUS_M = 6_378_137;
export const HORS_PARIS = 'Hors Paris';

interface ArrondissementShape {
  code: string; // "75001" … "75020"
  ring: Ring;
  bbox: [number, number, number, number];
}

let shapes: ArrondissementShape[] | null = null;

/** Path of the bundled arrondissement polygons (copied from opendata.paris.fr; see data/PROVENANCE.md). */
export const ARRONDISSEMENTS_FILE = path.resolve(__dirname, '../../data/arrondissements.geojson');

function loadShapes(): ArrondissementShape[] {
  if (shapes) return shapes;
  const fc = JSON.parse(fs.readFileSync(ARRONDISSEMENTS_FILE, 'utf8')) as {
    features: { properties: { c_ar: number }; geometry: { type: string; coordinates: LonLat[][] } }[];
  };
  shapes = fc.features
    .map((f) => {
      const ring = f.geometry.coordinates[0];
      const lons = ring.map((p) => p[0]);
      const lats = ring.map((p) => p[1]);
      return {
        code: `750${String(f.properties.c_ar).padStart(2, '0')}`,
        ring,
        bbox: [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)] as [number, number, number, number],
      };
    })
    .sort((a, b) => a.code.localeCompare(b.code));
  return shapes;
}

/** Ray casting; points exactly on an edge may fall either side, which is fine for sensors. */
export function pointInRing(lon: number, lat: number, ring: Ring): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Arrondissement code (`75001`…`75020`) containing the point, or `Hors Paris`. */
export function arrondissementOf(lat: number, lon: number): string {
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return HORS_PARIS;
  for (const s of loadShapes()) {
    const [x0, y0, x1, y1] = s.bbox;
    if (lon < x0 || lon > x1 || lat < y0 || lat > y1) continue;
    if (pointInRing(lon, lat, s.ring)) return s.code;
  }
  return HORS_PARIS;
}

/** Parse a geo_point_2d `"lat, lon"` / `"lat,lon"` string (latitude first). */
export function parseLatLon(text: string | undefined | null): { lat: number; lon: number } | null {
  if (!text) return null;
  const i = text.indexOf(',');
  if (i < 0) return null;
  const lat = Number(text.slice(0, i).trim());
  const lon = Number(text.slice(i + 1).trim());
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return { lat, lon };
}

export function haversineMeters(a: LonLat, b: LonLat): number {
  const toRad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * toRad;
  const dLon = (b[0] - a[0]) * toRad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * toRad) * Math.cos(b[1] * toRad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h));
}

/** Length of a LineString (or MultiLineString) in metres. */
export function lineLengthMeters(geometry: { type: string; coordinates: unknown }): number {
  const lines: LonLat[][] =
    geometry.type === 'LineString'
      ? [geometry.coordinates as LonLat[]]
      : geometry.type === 'MultiLineString'
        ? (geometry.coordinates as LonLat[][])
        : [];
  let total = 0;
  for (const line of lines) for (let i = 1; i < line.length; i++) total += haversineMeters(line[i - 1], line[i]);
  return total;
}

/**
 * Geodesic area of a ring on the WGS84 sphere (Chamberlain & Duquette, "Some algorithms for
 * polygons on a sphere", JPL 2007), the method GeoJSON tools use. Fixes the old system's
 * planar formula that forgot cos(latitude).
 */
export function ringAreaM2(ring: Ring): number {
  const n = ring.length;
  if (n < 4) return 0;
  const toRad = Math.PI / 180;
  let total = 0;
  for (let i = 0; i < n - 1; i++) {
    const lower = ring[i];
    const middle = ring[(i + 1) % (n - 1)];
    const upper = ring[(i + 2) % (n - 1)];
    total += (upper[0] * toRad - lower[0] * toRad) * Math.sin(middle[1] * toRad);
  }
  return Math.abs((total * WGS84_RADIUS_M * WGS84_RADIUS_M) / 2);
}

/** Geodesic area in m² of a Polygon or MultiPolygon (outer rings minus holes). 0 for other types. */
export function polygonAreaM2(geometry: { type: string; coordinates: unknown } | null | undefined): number {
  if (!geometry) return 0;
  const polys: Ring[][] =
    geometry.type === 'Polygon'
      ? [geometry.coordinates as Ring[]]
      : geometry.type === 'MultiPolygon'
        ? (geometry.coordinates as Ring[][])
        : [];
  let area = 0;
  for (const rings of polys) {
    if (!rings.length) continue;
    area += ringAreaM2(rings[0]);
    for (const hole of rings.slice(1)) area -= ringAreaM2(hole);
  }
  return Math.max(0, area);
}

/**
 * The old system's `zone_fallback` (kept for compatibility): a coarse zone from coordinates
 * (Centre, Nord, Nord-Est, …), `Unknown` outside its box.
 */
export function legacyZoneFallback(lat: number, lon: number): string {
  if (!(lon >= 2.2 && lon <= 2.5 && lat >= 48.7 && lat <= 49.0)) return 'Unknown';
  if (lon >= 2.33 && lon <= 2.37 && lat >= 48.85 && lat <= 48.87) return 'Centre';
  if (lat > 48.86) return lon < 2.33 ? 'Nord-Ouest' : lon > 2.37 ? 'Nord-Est' : 'Nord';
  if (lat < 48.85) return lon < 2.33 ? 'Sud-Ouest' : lon > 2.37 ? 'Sud-Est' : 'Sud';
  if (lon > 2.37) return 'Est';
  if (lon < 2.33) return 'Ouest';
  // Between 48.85 and 48.86 and 2.33–2.37 is Centre (caught above); quadrant for the rest.
  const c = [2.3522, 48.8566];
  if (lon < c[0]) return lat > c[1] ? 'Nord-Ouest' : 'Sud-Ouest';
  return lat > c[1] ? 'Nord-Est' : 'Sud-Est';
}
