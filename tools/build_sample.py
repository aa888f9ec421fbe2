#!/usr/bin/env python3
"""Build the bundled sample raw tree for one day (2025-02-04) under data/sample/.

Standard library only. Deterministic: every random choice comes from random.Random
instances seeded with fixed integers, nothing depends on the clock, the machine or
the hash seed, so two runs give identical bytes.

Inputs: the real samples in test/fixtures/real/ (see test/fixtures/real/SOURCES.md)
and the daily profile of tools/gen_comptages.py.

Outputs (everything under data/sample/ is rewritten):
  raw/batch/referentiel-comptages-routiers.csv     byte copy (real)
  raw/batch/comptages-routiers-permanents.csv      built: real arcs, synthetic counts
  raw/batch/chantiers-perturbants.csv              byte copy (real)
  raw/api/traffic/dt=2025-02-04/hour=08/*.json     byte copies (real PRIM snapshot)
  raw/api/bikes/dt=2025-02-04/hour=HH/*.json       built: 1 real counter + synthetic ones
  raw/api/bikes/2025-02-04/stream-data-*.json      built (JSON Lines, Lambda layout)
  raw/api/weather/dt=2025-02-04/hour=06/visualcrossing.json   built (synthetic values)
  raw/api/velib/dt=2025-02-04/hour=HH/*.json       real station_information + built
                                                   station_status snapshots
  expected.json, EXPECTED.md, PROVENANCE.md

The facts in expected.json are computed by reading the written files back with small,
separate code (it does not reuse the generator's internal state), and the script checks
that they match what the generator meant to put in.

Usage: python3 tools/build_sample.py [--out DIR]

Multi-day tree (nothing under data/sample is touched unless --out points there):
  python3 tools/build_sample.py --out DIR --start 2025-01-28 --days 8 [--arcs 150] [--velib-stations 200]
writes DIR/raw with, for each Paris day D of the range, every source in the layouts above:
  raw/batch/comptages-routiers-permanents.csv      one file for all days: real arcs, synthetic counts,
                                                   rows stamped D T01:00 ... D+1 T00:00 (offsets of the day),
                                                   3 congested arcs, 1 near miss, 1 arc with 8 hours
                                                   without rows and 1 malformed row per day
  raw/batch/referentiel-*.csv, chantiers-*.csv     byte copies (real)
  raw/api/traffic/dt=D/hour=08/*.json              the real PRIM snapshot (days 2..N: hard links)
  raw/api/bikes/dt=D/hour=HH/bikes_data_pN.json    v2.1 records stamped D T01:00 ... D T23:00; the stamp
                                                   D+1 T00:00 in D+1's folder (the last day: in D's)
  raw/api/weather/dt=D/hour=06/visualcrossing.json days D-1, D, D+1 (synthetic, one draw per day)
  raw/api/velib/dt=D/hour=08|18/                   station_information (days 2..N: hard links) and two
                                                   station_status snapshots, reduced to --velib-stations
and DIR/expected.json with per-day facts read back from the files (key `by_day`).
"""

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = os.path.join(ROOT, "test", "fixtures", "real")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_comptages as gc  # noqa: E402  (daily profile, Paris offset rule)

DAY = dt.date(2025, 2, 4)
DAY_S = DAY.isoformat()
SEED = 20250204
MAX_TREE_BYTES = 20 * 1000 * 1000

SRC_REFERENTIEL = "referentiel-geographique-capteurs/noobzik_referentiel-comptages-routiers_snapshot-2022-02.csv"
SRC_CHANTIERS = "chantiers-perturbants/lexparmap_chantiers-perturbants_snapshot-2025.csv"
SRC_PRIM_DISRUPTIONS = "idfm-disruptions/maximechab_prim_disruptions_bulk_v2_disruptions_2025-02-04.json"
SRC_PRIM_LINES = "idfm-disruptions/maximechab_prim_disruptions_bulk_v2_lines_2025-02-04.json"
SRC_BIKE = "comptage-velo/pybike_comptage-velo-donnees-compteurs_counter100003096_2021-09-01.csv"
SRC_VELIB_INFO = "velib/dariusbengo_gbfs_station_information_2025-10-18.json"
SRC_VELIB_STATUS = "velib/dariusbengo_gbfs_station_status_2025-10-18.json"

COMPTAGES_HEADER = gc.HEADER.rstrip("\n")
N_ARCS = 1200                      # arcs in the day file (size budget)
REAL_SAMPLE_ARCS = [4264, 5671, 191, 5462, 5472, 5459, 5482, 5465, 6124]
DISPO_DEBUT, DISPO_FIN = "1996-11-07", "2023-01-01"   # same for every row, as in 2025 exports


# --------------------------------------------------------------------------- time helpers

def paris_offset(utc):
    return gc.paris_offset_hours(utc)


def paris_local(utc):
    return utc + dt.timedelta(hours=paris_offset(utc))


def stamp_of(utc):
    """Hour-ending timestamp string of a naive UTC datetime, with the Paris offset."""
    off = paris_offset(utc)
    loc = utc + dt.timedelta(hours=off)
    return "%04d-%02d-%02dT%02d:00:00+%02d:00" % (loc.year, loc.month, loc.day, loc.hour, off)


def local_midnight_utc(day):
    """Naive UTC instant of local midnight starting `day` (midnight is never in a DST gap)."""
    guess = dt.datetime.combine(day, dt.time(0)) - dt.timedelta(hours=1)
    off = paris_offset(guess)
    return dt.datetime.combine(day, dt.time(0)) - dt.timedelta(hours=off)


def day_hour_starts(d):
    """Naive UTC instants of the starts of the Paris hours of day d (23, 24 or 25 of them)."""
    a = local_midnight_utc(d)
    b = local_midnight_utc(d + dt.timedelta(days=1))
    return [a + dt.timedelta(hours=i) for i in range(int((b - a).total_seconds()) // 3600)]


def epoch(utc):
    return int((utc - dt.datetime(1970, 1, 1)).total_seconds())


def paris_wall_epoch(d, hour):
    """Epoch of the Paris wall-clock time `hour`:00 on day d (the offset is the one of the hour before)."""
    wall = dt.datetime.combine(d, dt.time(hour))
    return epoch(wall - dt.timedelta(hours=paris_offset(wall - dt.timedelta(hours=1))))


def parse_iso_offset(s):
    """Aware datetime from 'YYYY-MM-DDTHH:MM:SS+HH:MM'; None when it does not match."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", s):
        return None
    try:
        return dt.datetime.fromisoformat(s)
    except ValueError:
        return None


def hour_start_utc(aware):
    """Naive UTC start of the hour ENDING at `aware` (rows and records are stamped with the end)."""
    return aware.astimezone(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=1)


def paris_day_of_hour_start(start_utc):
    return paris_local(start_utc).date().isoformat()


def hour_ending_day_and_hour(aware):
    """(Paris day 'YYYY-MM-DD', Paris local start hour) of the hour ENDING at `aware`."""
    loc = paris_local(hour_start_utc(aware))
    return loc.date().isoformat(), loc.hour


# --------------------------------------------------------------------------- io helpers

BATCH_REFERENTIEL = "batch/referentiel-comptages-routiers.csv"
BATCH_CHANTIERS = "batch/chantiers-perturbants.csv"
BATCH_COMPTAGES = "batch/comptages-routiers-permanents.csv"


def real(path):
    return os.path.join(REAL, path)


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def copy_real(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(real(src), dst)


def link_or_copy(src, dst):
    """Hard link dst to src (same bytes, no extra disk); a copy when the filesystem refuses links."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def _dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_text(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))


def write_expected_json(path, exp):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(exp, f, ensure_ascii=False, indent=1)
        f.write("\n")


def start_raw_tree(out):
    """Empty OUT/raw and put in the two batch files that are byte copies of real samples; returns OUT/raw."""
    raw = os.path.join(out, "raw")
    if os.path.isdir(raw):
        shutil.rmtree(raw)
    os.makedirs(raw)
    copy_real(SRC_REFERENTIEL, os.path.join(raw, BATCH_REFERENTIEL))
    copy_real(SRC_CHANTIERS, os.path.join(raw, BATCH_CHANTIERS))
    return raw


def place_traffic(raw, dates):
    """The real PRIM snapshot in the hour=08 folder of every day: copied for the first day, hard links after.

    Returns {source: path relative to raw} of the first day's copies."""
    first = {}
    for d in dates:
        for src in (SRC_PRIM_DISRUPTIONS, SRC_PRIM_LINES):
            rel = "api/traffic/dt=%s/hour=08/%s" % (d.isoformat(), os.path.basename(src))
            if src in first:
                link_or_copy(os.path.join(raw, first[src]), os.path.join(raw, rel))
            else:
                copy_real(src, os.path.join(raw, rel))
                first[src] = rel
    return first


def tree_bytes(top):
    """(sum of file sizes, bytes on disk counting each hard-linked file once)."""
    apparent, disk, seen = 0, 0, set()
    for base_dir, _, fs in os.walk(top):
        for fn in fs:
            st = os.stat(os.path.join(base_dir, fn))
            apparent += st.st_size
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                disk += st.st_size
    return apparent, disk


# --------------------------------------------------------------------------- référentiel

def load_referentiel():
    with open(real(SRC_REFERENTIEL), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, rows = rows[0], rows[1:]
    assert header[0] == "Identifiant arc" and len(header) == 10, header
    arcs = {}
    order = []
    for r in rows:
        ident = int(r[0])
        for cell in r[:9]:
            assert ";" not in cell and '"' not in cell, r
        if ident not in arcs:
            lat, lon = r[8].split(",")
            arcs[ident] = {
                "id": ident, "libelle": r[3],
                "aval_id": r[4], "aval_lib": r[5], "amont_id": r[6], "amont_lib": r[7],
                "point": "%s, %s" % (lat, lon), "shape": r[9], "pieces": 1,
            }
            order.append(ident)
        else:
            arcs[ident]["pieces"] += 1
    return arcs, sorted(order), len(rows)


def arc_class(lib):
    tok = lib.split("_")[0]
    low = lib.lower()
    if tok in ("PE", "PI"):
        return "periph"
    if tok in ("AE", "AI", "SE", "SI", "VGP", "Souterrain", "Ech", "Rampe") or "bretelle" in low:
        return "fast"
    if tok in ("Bd", "Av", "AV", "Quai", "Pt", "Pte", "Cours", "Pl", "Place"):
        return "major"
    return "street"


# --------------------------------------------------------------------------- comptages

PROFILES = [gc.PROFILE_WEEKDAY] * 5 + [gc.PROFILE_SATURDAY, gc.PROFILE_SUNDAY]   # by date.weekday()
# road class -> (capacity range in veh/h, probability of a peak-hour slowdown)
ARC_CAPACITY = {"periph": ((3000, 7000), 0.10), "fast": ((800, 2600), 0.05),
                "major": ((250, 1500), 0.03), "street": ((60, 800), 0.02)}
MALFORMED_KINDS = ("extra_field", "short_row", "bad_date", "empty_date", "bad_debit")


def fmt_taux(x, five):
    v = round(x, 5 if five else 2)
    if v < 0.01:
        return "0.0"
    s = repr(float(v))
    assert "e" not in s, s
    return s


def fmt_debit(flow):
    return "%d.0" % int(flow + 0.5)


def etat_trafic(taux_text):
    if taux_text == "":
        return "Inconnu"
    k = float(taux_text)
    return "Fluide" if k < 15 else "Pré-saturé" if k < 30 else "Saturé" if k < 50 else "Bloqué"


def choose_arcs(rng, ref_arcs, ref_ids, n_arcs):
    """The arcs of the file, sorted: the real-sample arcs plus a draw among the other référentiel arcs."""
    must = [a for a in REAL_SAMPLE_ARCS if a in ref_arcs]
    others = [a for a in ref_ids if a not in must]
    if not len(must) + 10 <= n_arcs <= len(ref_ids):
        raise SystemExit("--arcs must be between %d and %d" % (len(must) + 10, len(ref_ids)))
    return sorted(must + rng.sample(others, n_arcs - len(must)))


def draw_arc_params(rng, libelle, every_class):
    """Fixed parameters of one arc: capacity by road class, slowdown odds, occupancy scale, direction,
    day factor, `Etat arc` and the number of decimals of its Taux.

    With `every_class` a capacity is drawn for each of periph, fast and major (and then one for a street)
    and the arc's own is kept; without it only the arc's own is drawn. The one-day sample and the
    multi-day trees are reproduced from their seeds and their draw order, so each keeps its own."""
    cls = arc_class(libelle)
    if every_class:
        drawn = {k: rng.uniform(*ARC_CAPACITY[k][0]) for k in ("periph", "fast", "major")}
        cap = drawn[cls] if cls in drawn else rng.uniform(*ARC_CAPACITY["street"][0])
    else:
        cap = rng.uniform(*ARC_CAPACITY[cls][0])
    r = rng.random()
    return {
        "cls": cls, "cap": cap, "p_cong": ARC_CAPACITY[cls][1], "occ_scale": rng.uniform(0.6, 1.5),
        "inbound": rng.random() < 0.5, "dfac": 0.85 + 0.3 * rng.random(),
        "etat_arc": "Invalide" if r < 0.70 else ("Ouvert" if r < 0.98 else "Barré"),
        "five": rng.random() < 0.7,
    }


def arc_line_parts(a, info, etat_arc):
    """(text before the stamp, text after Etat trafic) of every row of arc `a`."""
    return ("%d;%s;" % (a, info["libelle"]),
            ";%s;%s;%s;%s;%s;%s;%s;%s;\"%s\"" % (
                info["amont_id"], info["amont_lib"], info["aval_id"], info["aval_lib"], etat_arc,
                DISPO_DEBUT, DISPO_FIN, info["point"], info["shape"].replace('"', '""')))


def comptages_line(parts, stamp, debit, taux):
    return "%s%s;%s;%s;%s%s" % (parts[0], stamp, debit, taux, etat_trafic(taux), parts[1])


def draw_noise(rng, bits):
    """2**bits lognormal day-noise factors, indexed later by `bits` random bits."""
    return [min(2.0, max(0.3, rng.lognormvariate(0.0, 0.13))) for _ in range(1 << bits)]


def arc_hour(rng, p, noise, loc):
    """(flow, occupancy) of an arc with parameters `p` for the Paris hour starting at `loc` (local time).

    Weekday/Saturday/Sunday profile of tools/gen_comptages.py, counter-peak direction x0.85, day factor,
    noise, occupancy 1 + 30*load^2*scale, occasional peak-hour slowdowns; occupancy stays below 77 so
    that only designed cases reach the congestion threshold."""
    lh, wd = loc.hour, loc.weekday()
    load = PROFILES[wd][lh]
    if wd < 5 and p["inbound"] != (lh < 13):
        load *= 0.85
    load *= p["dfac"] * noise[rng.getrandbits(len(noise).bit_length() - 1)]
    occ = 1.0 + 30.0 * load * load * p["occ_scale"] + rng.gauss(0.0, 1.4)
    flow = p["cap"] * load
    if lh in gc.PEAK_HOURS and rng.random() < p["p_cong"]:
        occ = 30.0 + 45.0 * rng.random()
        flow *= 0.55
    if occ > 77.0:
        occ = 77.0 - 5.0 * rng.random()
    return flow, max(0.0, occ)


def congested_values(flow, taux):
    """(Débit, Taux) texts of an hour forced to occupancy `taux`: the flow drops as the road fills."""
    return fmt_debit(flow * 0.55), fmt_taux(taux, True)


def random_blanks(rng, debit, taux):
    """None when the row is left out (~0.4 %), else (Débit, Taux) with ~1 % both blank, ~1 % Débit only
    and ~1 % Taux only, as in real exports."""
    if rng.random() < 0.004:
        return None
    u = rng.random()
    if u < 0.01:
        return "", ""
    if u < 0.02:
        return "", taux
    if u < 0.03:
        return debit, ""
    return debit, taux


def malform_line(line, kind, libelle):
    """The row `line` broken in one of the MALFORMED_KINDS ways a reader must reject."""
    f = line.split(";")
    if kind == "extra_field":
        cut = max(1, len(libelle) // 2)
        f[1] = libelle[:cut] + ";" + libelle[cut:]
    elif kind == "short_row":
        f = f[:9]
    elif kind == "bad_date":
        s = f[2]
        f[2] = "%s/%s/%s %s:00" % (s[8:10], s[5:7], s[0:4], s[11:13])
    elif kind == "empty_date":
        f[2] = ""
    else:
        f[3] = "n/a"
    return ";".join(f)


def write_comptages_export(path, rows, batch_of, n_batches, rng):
    """Write rows [key, arc, line] in the order of a portal export: batches of 6 hours (`batch_of`),
    shuffled inside each batch, ~0.5 % of rows one batch late (none from the last batch)."""
    batches = [[] for _ in range(n_batches)]
    for r in rows:
        batches[batch_of(r)].append(r)
    out_lines, late = [], []
    for bi, b in enumerate(batches):
        cur = late + b
        late = []
        rng.shuffle(cur)
        for r in cur:
            if rng.random() < 0.005 and bi < n_batches - 1:
                late.append(r)
            else:
                out_lines.append(r[2])
    out_lines.extend(r[2] for r in late)
    write_bytes(path, (COMPTAGES_HEADER + "\r\n" + "".join(l + "\r\n" for l in out_lines)).encode("utf-8"))


def build_comptages(path, ref_arcs, ref_ids):
    rng = random.Random(SEED * 10 + 1)
    chosen = choose_arcs(rng, ref_arcs, ref_ids, N_ARCS)
    params = {a: draw_arc_params(rng, ref_arcs[a]["libelle"], every_class=False) for a in chosen}

    # stamps: 2025-02-04T00:00 (belongs to 02-03) ... 2025-02-05T00:00, then 01:00..03:00 of 02-05
    t0 = local_midnight_utc(DAY)    # stamp D T00:00 = end of the last hour of D-1
    stamps_utc = [t0 + dt.timedelta(hours=i) for i in range(28)]
    stamps = [stamp_of(u) for u in stamps_utc]
    assert stamps[0] == "2025-02-04T00:00:00+01:00" and stamps[24] == "2025-02-05T00:00:00+01:00"

    # special arcs, drawn from the chosen arcs (never from the real-sample arcs)
    pool = [a for a in chosen if a not in REAL_SAMPLE_ARCS]
    rng.shuffle(pool)
    big = [a for a in pool if params[a]["cls"] in ("periph", "fast", "major")]
    periph = [a for a in pool if params[a]["cls"] == "periph"]
    taken = []

    def take(cands):
        for a in cands:
            if a not in taken:
                taken.append(a)
                return a
        raise RuntimeError("no arc left")

    # congestion: forced occupancies at given D stamps (hour-ending HH)
    cong_design = {
        "C1": {"arc": take(big), "taux": {9: 82.4, 10: 85.13}, "sev": "Élevée"},
        "C2": {"arc": take(big), "taux": {18: 80.0, 19: 84.7, 20: 81.25}, "sev": "Élevée",
               "debit_empty": [19]},
        "C3": {"arc": take(big), "taux": {8: 86.3, 9: 91.74, 10: 83.0}, "sev": "Critique"},
        "C4": {"arc": take(big), "taux": {17: 88.1, 18: 90.0}, "sev": "Critique"},
        "C5": {"arc": take(periph), "taux": {7: 81.0, 8: 93.5, 9: 95.2, 10: 89.0, 11: 80.6},
               "sev": "Critique"},
        "C6": {"arc": take(big), "taux": {8: 81.5, 9: 83.0, 18: 87.0, 19: 92.3}, "sev": "Critique"},
        # near misses: never 2 consecutive hours >= 80 inside D
        "N1": {"arc": take(big), "taux": {8: 70.2, 9: 88.0, 10: 70.9}, "sev": None},
        "N2": {"arc": take(big), "taux": {18: 79.99, 19: 85.2}, "sev": None},
        "N3": {"arc": take(big), "taux": {0: 86.0, 1: 84.0}, "sev": None},     # 0 = stamp of D-1
        "N4": {"arc": take(big), "taux": {24: 83.0, 25: 85.0}, "sev": None},    # 25 = stamp of D+1
    }
    special = {
        "F1_gap8": take(pool),          # rows absent for stamps 09..16 (8 h)
        "F2_stops": take(pool),         # rows only for stamps 01..10 (14 h missing)
        "G6_gap6": take(pool),          # rows absent for stamps 13..18 (exactly 6 h: not failing)
        "K1_const14": take(big),        # Débit 412.0 for stamps 06..19 (14 h)
        "K2_const11": take(big),        # Débit 236.0 for stamps 07..17 (11 h: not failing)
        "Z1_zero13": take(pool),        # Débit 0.0 / Taux 0.0 for stamps 01..13, Etat arc Barré
        "D1_no_debit": 5671,            # Débit empty on every row, Taux present (as the real arc 5671 export)
    }
    params[special["Z1_zero13"]]["etat_arc"] = "Barré"
    absent = {
        special["F1_gap8"]: set(range(9, 17)),
        special["F2_stops"]: set(range(11, 25)),
        special["G6_gap6"]: set(range(13, 19)),
    }
    const = {special["K1_const14"]: (range(6, 20), 412), special["K2_const11"]: (range(7, 18), 236)}
    cong_by_arc = {}
    for name, c in cong_design.items():
        cong_by_arc[c["arc"]] = c

    # arcs with rows on 2025-02-05 (stamps 01:00, 02:00; 03:00 for some)
    plus_pool = [a for a in chosen if a not in taken and a not in REAL_SAMPLE_ARCS]
    plus = sorted(rng.sample(plus_pool, 39) + [cong_design["N4"]["arc"]])
    plus3 = set(rng.sample(plus, 10))

    noise = draw_noise(rng, 12)

    rows = []   # (stamp index, arc, line)
    n_random_absent = 0
    for a in chosen:
        p = params[a]
        parts = arc_line_parts(a, ref_arcs[a], p["etat_arc"])
        n_st = 25 + (2 + (1 if a in plus3 else 0) if a in plus else 0)
        is_special = a in taken or a == 5671
        for si in range(n_st):
            if si in absent.get(a, ()):
                continue
            flow, occ = arc_hour(rng, p, noise, paris_local(stamps_utc[si] - dt.timedelta(hours=1)))
            debit, taux = fmt_debit(flow), fmt_taux(occ, p["five"])
            c = cong_by_arc.get(a)
            if c and si in c["taux"]:
                debit, taux = congested_values(flow, c["taux"][si])
                if si in c.get("debit_empty", ()):
                    debit = ""
            if a in const and si in const[a][0]:
                debit = "%d.0" % const[a][1]
            if a == special["Z1_zero13"] and 1 <= si <= 13:
                debit, taux = "0.0", "0.0"
            if a == 5671:
                debit = ""
            if not is_special:
                kept = random_blanks(rng, debit, taux)
                if kept is None:
                    n_random_absent += 1
                    continue
                debit, taux = kept
            rows.append([si, a, comptages_line(parts, stamps[si], debit, taux)])

    # malformed rows: replace valid rows of regular arcs on D, one of each kind
    regular = [r for r in rows if r[1] not in taken and r[1] not in REAL_SAMPLE_ARCS and 1 <= r[0] <= 24]
    victims = rng.sample(regular, len(MALFORMED_KINDS))
    bad_kinds = []
    for kind, r in zip(MALFORMED_KINDS, victims):
        r[2] = malform_line(r[2], kind, ref_arcs[r[1]]["libelle"])
        bad_kinds.append({"kind": kind, "arc": r[1], "stamp": stamps[r[0]]})

    write_comptages_export(path, rows, lambda r: r[0] // 6, 5, rng)

    design = {
        "arcs": len(chosen),
        "congestion": {k: {"arc": v["arc"], "severite": v["sev"],
                           "taux_by_stamp": {stamps[s]: t for s, t in sorted(v["taux"].items())}}
                       for k, v in cong_design.items()},
        "special": special,
        "malformed": bad_kinds,
        "arcs_with_rows_on_next_day": len(plus),
        "random_absent_rows": n_random_absent,
    }
    return design


# --------------------------------------------------------------------------- comptages read-back
#
# Written apart from the generator on purpose: the facts must come from the files, not from what the
# generator meant to write.

def read_comptages(path):
    """(file bytes, [(physical line, fields, stamp, reason)]) of the data records of a comptages file.

    `stamp` is the parsed aware datetime or None; `reason` is None for a valid record, else field_count
    (not 15 fields), bad_date (not ISO with an offset) or bad_number (Débit or Taux neither empty nor a
    plain decimal)."""
    raw = open(path, "rb").read()
    reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), delimiter=";")
    assert ";".join(next(reader)) == COMPTAGES_HEADER
    out = []
    for rec in reader:
        t = parse_iso_offset(rec[2]) if len(rec) == 15 else None
        if len(rec) != 15:
            reason = "field_count"
        elif t is None:
            reason = "bad_date"
        elif any(v != "" and not re.fullmatch(r"\d+(\.\d+)?", v) for v in (rec[3], rec[4])):
            reason = "bad_number"
        else:
            reason = None
        out.append((reader.line_num, rec, t, reason))
    return raw, out


def congestion_runs(taux, step):
    """Runs (lists of keys) of at least 2 consecutive hours with Taux >= 80; `taux` maps an hour key to
    Taux or None, two keys are consecutive when they are `step` apart."""
    runs, run, prev = [], [], None
    for h in sorted(taux):
        if taux[h] is not None and taux[h] >= 80:
            if not (run and h - prev == step):
                if len(run) >= 2:
                    runs.append(run)
                run = []
            run.append(h)
            prev = h
        else:
            if len(run) >= 2:
                runs.append(run)
            run = []
    if len(run) >= 2:
        runs.append(run)
    return runs


def longest_equal_run(values, step):
    """(length, value) of the longest run of the same non-zero value over consecutive hours (keys `step`
    apart; a missing key or None breaks the run); the earliest run wins a tie."""
    best, best_val, cur, prev_h, prev_v = 0, None, 0, None, None
    for h in sorted(values):
        v = values[h]
        if v is not None and v != 0 and v == prev_v and h - prev_h == step:
            cur += 1
        else:
            cur = 1 if (v is not None and v != 0) else 0
        prev_h, prev_v = h, v
        if cur > best:
            best, best_val = cur, v
    return best, best_val


def analyse_comptages(path, ref_arcs):
    """Read-back of the one-day comptages file."""
    raw, records = read_comptages(path)
    n = len(records)
    malformed = {"field_count": 0, "bad_date": 0, "bad_number": 0}
    malformed_lines = []
    valid = []
    for line_no, rec, t, reason in records:
        if reason:
            malformed[reason] += 1
            key, value = {"field_count": ("fields", len(rec)), "bad_date": ("value", rec[2]),
                          "bad_number": ("value", rec[3])}[reason]
            malformed_lines.append({"line": line_no, "reason": reason, key: value})
            continue
        day, hour = hour_ending_day_and_hour(t)
        valid.append({"arc": int(rec[0]), "lib": rec[1], "stamp": rec[2], "day": day, "hour": hour,
                      "q": None if rec[3] == "" else float(rec[3]),
                      "k": None if rec[4] == "" else float(rec[4]), "etat": rec[5],
                      "etat_arc": rec[10]})
    by_day = {}
    for v in valid:
        by_day[v["day"]] = by_day.get(v["day"], 0) + 1
    d = [v for v in valid if v["day"] == DAY_S]
    arcs = {}
    for v in d:
        arcs.setdefault(v["arc"], []).append(v)
    profile = [0.0] * 24
    for v in d:
        if v["q"] is not None:
            profile[v["hour"]] += v["q"]
    etats = {}
    for v in d:
        etats[v["etat"]] = etats.get(v["etat"], 0) + 1
    per_arc = {}
    for a in sorted(arcs):
        rs = sorted(arcs[a], key=lambda v: v["hour"])
        qs = [v for v in rs if v["q"] is not None]
        tot = sum(v["q"] for v in qs)
        mx = max(qs, key=lambda v: (v["q"], -v["hour"])) if qs else None
        hours = {v["hour"]: v for v in rs}
        # congestion: Taux >= 80 for >= 2 consecutive clock hours of D
        alerts = [[hours[h] for h in run] for run in congestion_runs({h: v["k"] for h, v in hours.items()}, 1)]
        # constant non-zero Débit over consecutive clock hours
        best, best_val = longest_equal_run({h: v["q"] for h, v in hours.items()}, 1)
        per_arc[a] = {
            "libelle": rs[0]["lib"], "rows": len(rs), "hours_with_debit": len(qs),
            "hours_with_taux": sum(1 for v in rs if v["k"] is not None),
            "debit_total": tot, "debit_max": mx["q"] if mx else None,
            "debit_max_stamp": mx["stamp"] if mx else None,
            "alerts": [{"from": r[0]["stamp"], "to": r[-1]["stamp"], "hours": len(r),
                        "max_taux": max(v["k"] for v in r),
                        "severite": "Critique" if max(v["k"] for v in r) >= 90 else "Élevée"}
                       for r in alerts],
            "longest_constant_nonzero_debit": {"hours": best, "value": best_val},
        }
    top = sorted(per_arc.items(), key=lambda kv: (-kv[1]["debit_total"], kv[0]))[:10]
    total_q = sum(v["q"] for v in d if v["q"] is not None)
    congested = {a: p for a, p in per_arc.items() if p["alerts"]}
    missing_gt6 = sorted(a for a, p in per_arc.items() if 24 - p["rows"] > 6)
    const12 = sorted(a for a, p in per_arc.items() if p["longest_constant_nonzero_debit"]["hours"] >= 12)
    facts = {
        "file": "batch/comptages-routiers-permanents.csv",
        "bytes": len(raw),
        "line_terminator": "CRLF" if b"\r\n" in raw[:2000] else "LF",
        "bom": raw[:3] == b"\xef\xbb\xbf",
        "data_records": n,
        "malformed_rows": sum(malformed.values()),
        "malformed_by_reason": malformed,
        "malformed_lines": malformed_lines,
        "valid_rows": len(valid),
        "valid_rows_by_paris_day": dict(sorted(by_day.items())),
        "day": {
            "date": DAY_S,
            "rule": "row stamped T counts the hour ending at T: 2025-02-04T01:00:00+01:00 ... 2025-02-05T00:00:00+01:00",
            "rows": len(d),
            "arcs": len(arcs),
            "arcs_not_in_referentiel": sum(1 for a in arcs if a not in ref_arcs),
            "debit_total": total_q,
            "rows_debit_empty": sum(1 for v in d if v["q"] is None),
            "rows_taux_empty": sum(1 for v in d if v["k"] is None),
            "rows_both_empty": sum(1 for v in d if v["q"] is None and v["k"] is None),
            "etat_trafic_arc_hours": dict(sorted(etats.items())),
            "etat_arc_rows": _count(v["etat_arc"] for v in d),
            "hourly_debit_by_local_start_hour": {"%02d" % h: profile[h] for h in range(24)},
            "peak_hour_local_start": max(range(24), key=lambda h: (profile[h], -h)),
            "arcs_with_24_rows": sum(1 for p in per_arc.values() if p["rows"] == 24),
            "arcs_with_at_least_18_rows": sum(1 for p in per_arc.values() if p["rows"] >= 18),
            "arcs_with_at_least_18_debit_values": sum(1 for p in per_arc.values() if p["hours_with_debit"] >= 18),
            "arcs_more_than_6_hours_without_row": missing_gt6,
            "arcs_more_than_6_hours_without_debit": sorted(
                a for a, p in per_arc.items() if 24 - p["hours_with_debit"] > 6),
            "arcs_same_nonzero_debit_12h_or_more": const12,
            "congestion_alerts": {str(a): {"libelle": p["libelle"], "alerts": p["alerts"]}
                                  for a, p in sorted(congested.items())},
            "arcs_with_any_taux_80_or_more": sorted(
                a for a in arcs if any(v["k"] is not None and v["k"] >= 80 for v in arcs[a])),
            "top10_arcs_by_debit_total": [{"arc": a, "libelle": p["libelle"], "debit_total": p["debit_total"]}
                                          for a, p in top],
        },
        "per_arc_sample": {},
    }
    return facts, per_arc


def _count(it):
    out = {}
    for x in it:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- bikes

BIKE_SITES = [
    # (name, lat, lon, channels [(direction, scale, reverse)])
    ("12 boulevard de Sébastopol", 48.86256, 2.34993, [("N-S", 2.6, False), ("S-N", 2.2, True)]),
    ("89 boulevard de Magenta", 48.87812, 2.35431, [("NO-SE", 1.5, False), ("SE-NO", 1.4, True)]),
    ("Quai des Tuileries", 48.86212, 2.33059, [("E-O", 1.8, False), ("O-E", 1.9, True)]),
    ("35 rue de Rivoli", 48.85593, 2.35791, [("E-O", 2.4, False)]),
    ("120 boulevard Voltaire", 48.85905, 2.38061, [("NO-SE", 1.1, False), ("SE-NO", 1.0, True)]),
    ("27 avenue de la Grande Armée", 48.87618, 2.28793, [("SO-NE", 0.7, False), ("NE-SO", 0.8, True)]),
    ("Pont d'Austerlitz", 48.84392, 2.36544, [("S-N", 1.2, False), ("N-S", 1.1, True)]),
    ("140 boulevard Saint-Germain", 48.85292, 2.34022, [("E-O", 1.3, False), ("O-E", 1.2, True)]),
    ("60 avenue des Champs-Élysées", 48.87036, 2.30712, [("NO-SE", 0.9, False), ("SE-NO", 0.9, True)]),
    ("Quai de Jemmapes", 48.87393, 2.36521, [("N-S", 1.0, False)]),
    ("45 boulevard de Ménilmontant", 48.86249, 2.38642, [("N-S", 0.6, False), ("S-N", 0.6, True)]),
    ("110 avenue d'Italie", 48.82601, 2.35808, [("N-S", 0.8, False), ("S-N", 0.7, True)]),
    ("210 rue de Vaugirard", 48.84184, 2.30127, [("NE-SO", 0.5, False), ("SO-NE", 0.5, True)]),
    ("40 boulevard Barbès", 48.88913, 2.34918, [("N-S", 0.9, False), ("S-N", 0.8, True)]),
    ("70 avenue Daumesnil", 48.84205, 2.38243, [("E-O", 0.7, False)]),
    ("Quai de Bercy", 48.83306, 2.38176, [("SE-NO", 0.9, False), ("NO-SE", 0.0, True)]),
    ("75 avenue de Flandre", 48.88894, 2.37725, [("N-S", 0.6, False), ("S-N", 0.5, True)]),
]
REAL_COUNTER = {"id_compteur": "100003096-353242251", "nom_compteur": "97 avenue Denfert Rochereau SO-NE",
                "id": "100003096", "name": "97 avenue Denfert Rochereau", "installation_date": "2012-02-22",
                "lat": 48.83504, "lon": 2.33314, "counter": "X2H20012081"}
# hour-ending stamp hour (1..24, 24 = next day 00:00) missing in the real sample
BIKE_FILL = {1: 6, 2: 4, 24: 9, 0: 11}     # 0 = stamp D T00:00 (belongs to D-1)


def read_real_bike_profile():
    with open(real(SRC_BIKE), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    h = rows[0]
    i_c, i_d, i_id = h.index("Comptage horaire"), h.index("Date et heure de comptage"), h.index("Identifiant du compteur")
    prof = {}
    for r in rows[1:]:
        assert r[i_id] == REAL_COUNTER["id_compteur"]
        assert r[i_d].startswith("2021-09-01T") and r[i_d].endswith(":00:00+02:00")
        prof[int(r[i_d][11:13])] = int(float(r[i_c]))
    return prof   # stamp hour 3..23 -> count


PEAK_SWAP = {7: 17, 8: 18, 9: 19, 17: 7, 18: 8, 19: 9}   # opposite direction: morning and evening peaks swapped


def bike_base_profile(real_prof):
    """Hourly base counts by stamp hour: the real counter's, its missing hours filled from BIKE_FILL."""
    base = dict(real_prof)
    for hh, v in BIKE_FILL.items():
        base.setdefault(hh, v)
    return base


def counter_count(rng, c, base, hour, factor=1.0):
    """Count of synthetic counter `c` for stamp hour `hour`: base profile (peaks swapped for a reverse
    channel) x the counter's scale x the day's factor x uniform noise 0.85-1.15."""
    key = PEAK_SWAP.get(hour, hour) if c["reverse"] else hour
    return int(base[key] * c["scale"] * factor * rng.uniform(0.85, 1.15) + 0.5)


def write_bike_pages(raw_dir, day_s, hour, recs):
    """The records of one old-layout folder, in pages of at most 100 (`total_count` = records of the folder)."""
    rels = []
    for i in range(0, len(recs), 100):
        rel = "api/bikes/dt=%s/hour=%s/bikes_data_p%d.json" % (day_s, hour, i // 100 + 1)
        doc = {"total_count": len(recs), "results": recs[i:i + 100]}
        write_bytes(os.path.join(raw_dir, rel), _dumps(doc).encode("utf-8"))
        rels.append(rel)
    return rels


def read_bike_docs(raw_dir):
    """[(path relative to raw_dir, document)] of every bike file, in path order; a JSON Lines file gives
    one document per line."""
    docs = []
    for base, dirs, files in sorted(os.walk(os.path.join(raw_dir, "api", "bikes"))):
        dirs.sort()
        for fn in sorted(files):
            p = os.path.join(base, fn)
            rel = os.path.relpath(p, raw_dir)
            text = open(p, encoding="utf-8").read()
            try:
                docs.append((rel, json.loads(text)))
            except ValueError:
                for line in text.splitlines():
                    if line.strip():
                        docs.append((rel, json.loads(line)))
    return docs


def synthetic_bike_counters(rng):
    """The synthetic counters of BIKE_SITES (one draw of `rng` per site, for the installation date)."""
    counters = []
    site_no = 0
    for name, lat, lon, chans in BIKE_SITES:
        site_no += 1
        site_id = "9%08d" % site_no
        inst = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randint(0, 5 * 365))
        for ci, (direction, scale, reverse) in enumerate(chans):
            counters.append({
                "id_compteur": "%s-9%02d%06d" % (site_id, ci + 1, site_no),
                "nom_compteur": "%s %s" % (name, direction), "id": site_id, "name": name,
                "installation_date": inst.isoformat(),
                "lat": round(lat + (0.00004 if ci else 0.0), 5), "lon": round(lon + (0.00003 if ci else 0.0), 5),
                "counter": "X2H9%07d" % (site_no * 10 + ci), "scale": scale, "reverse": reverse,
                "synthetic": True})
    return counters


def build_bikes(raw_dir):
    rng = random.Random(SEED * 10 + 2)
    real_prof = read_real_bike_profile()
    base = bike_base_profile(real_prof)
    t0 = local_midnight_utc(DAY)     # stamp index 0 = D T00:00
    stamps = [stamp_of(t0 + dt.timedelta(hours=i)) for i in range(25)]
    assert stamps[24] == "2025-02-05T00:00:00+01:00"

    counters = synthetic_bike_counters(rng)
    zero = [c for c in counters if c["scale"] == 0.0]
    assert len(zero) == 1
    gap_counter = counters[9]        # 27 avenue de la Grande Armée SO-NE
    nocoord_counter = counters[4]    # Quai des Tuileries E-O

    records = []   # (stamp index, record)
    # real counter: the real 2021-09-01 values at the same wall-clock hours, hours absent there stay absent
    for hh in sorted(real_prof):
        records.append((hh, _bike_record(REAL_COUNTER, real_prof[hh], stamps[hh])))
    gap = set(range(9, 17))
    for c in counters:
        for si in range(25):
            if c is gap_counter and si in gap:
                continue
            records.append((si, _bike_record(c, counter_count(rng, c, base, si), stamps[si])))
    nocoord_stamp = stamps[15]
    for si, r in records:
        if r["id_compteur"] == nocoord_counter["id_compteur"] and r["date"] == nocoord_stamp:
            del r["coordinates"]

    # old layout: hour=06 <- stamps 00..06, hour=12 <- 07..12, hour=18 <- 13..18, hour=23 <- 19..22
    # Lambda layout: stamps 23 and 24 (2025-02-05T00:00), written at 2025-02-04T23:30Z
    groups = {"06": range(0, 7), "12": range(7, 13), "18": range(13, 19), "23": range(19, 23)}
    dup_stamp = stamps[12]
    files = []
    for hour, rg in groups.items():
        recs = [r for si, r in records if si in rg]
        if hour == "18":
            dup = [r for si, r in records if si == 12 and r["id_compteur"] == REAL_COUNTER["id_compteur"]]
            assert len(dup) == 1
            recs.append(dup[0])
        rng.shuffle(recs)
        files.extend(write_bike_pages(raw_dir, DAY_S, hour, recs))
    lam = [r for si, r in records if si in (23, 24)]
    rng.shuffle(lam)
    lam_utc = dt.datetime(2025, 2, 4, 23, 30, 0)
    rel = "api/bikes/%s/stream-data-%d-%032x.json" % (DAY_S, epoch(lam_utc), rng.getrandbits(128))
    lines = [_dumps({"total_count": len(lam), "results": lam[i:i + 50]}) for i in range(0, len(lam), 50)]
    write_bytes(os.path.join(raw_dir, rel), ("\n".join(lines) + "\n").encode("utf-8"))
    files.append(rel)
    design = {
        "counters": 1 + len(counters),
        "all_zero_counter": zero[0]["id_compteur"],
        "gap_counter": gap_counter["id_compteur"],
        "no_coordinates_record": {"id_compteur": nocoord_counter["id_compteur"], "date": nocoord_stamp},
        "duplicate": {"id_compteur": REAL_COUNTER["id_compteur"], "date": dup_stamp},
        "files": files,
        "counter_list": [{"id_compteur": c["id_compteur"], "nom_compteur": c["nom_compteur"],
                          "lat": c["lat"], "lon": c["lon"], "scale": c["scale"],
                          "direction_profile": "peaks swapped" if c["reverse"] else "as the real counter"}
                         for c in counters],
    }
    return design


def _bike_record(c, count, stamp):
    return {
        "id_compteur": c["id_compteur"], "nom_compteur": c["nom_compteur"], "id": c["id"], "name": c["name"],
        "sum_counts": count, "date": stamp, "installation_date": c["installation_date"],
        "coordinates": {"lon": c["lon"], "lat": c["lat"]}, "counter": c["counter"],
        "mois_annee_comptage": stamp[:7],
    }


def analyse_bikes(raw_dir):
    """Independent read-back: every file of the day, both layouts, merged, duplicates removed."""
    docs = read_bike_docs(raw_dir)
    seen = {}
    total_records = 0
    dups = []
    files_of = {}
    for rel, d in docs:
        for r in d["results"]:
            total_records += 1
            key = (r["id_compteur"], r["date"])
            files_of.setdefault(key, []).append(rel)
            if key in seen:
                dups.append({"id_compteur": key[0], "date": key[1], "identical": seen[key] == r})
                continue
            seen[key] = r
    uniq = list(seen.values())
    by_day = {}
    per = {}
    for r in uniq:
        t = parse_iso_offset(r["date"])
        day, hour = hour_ending_day_and_hour(t)
        by_day[day] = by_day.get(day, 0) + 1
        if day != DAY_S:
            continue
        p = per.setdefault(r["id_compteur"], {"nom_compteur": r["nom_compteur"], "total": 0, "hours": 0,
                                              "values": {}})
        p["total"] += r["sum_counts"]
        p["hours"] += 1
        p["values"][hour] = r["sum_counts"]
    for d in dups:
        d["files"] = files_of[(d["id_compteur"], d["date"])]
    nocoord = [{"id_compteur": r["id_compteur"], "date": r["date"], "sum_counts": r["sum_counts"]}
               for r in uniq if not isinstance(r.get("coordinates"), dict)]
    all_zero = sorted(c for c, p in per.items() if p["total"] == 0)
    miss6 = sorted(c for c, p in per.items() if 24 - p["hours"] > 6)
    total_d = sum(p["total"] for p in per.values())
    top = sorted(per.items(), key=lambda kv: (-kv[1]["total"], kv[0]))[:10]
    prof = [0] * 24
    for p in per.values():
        for h, v in p["values"].items():
            prof[h] += v
    return {
        "files": sorted({rel for rel, _ in docs}),
        "documents": len(docs),
        "records_in_files": total_records,
        "duplicates": dups,
        "unique_records": len(uniq),
        "unique_records_by_paris_day": dict(sorted(by_day.items())),
        "day": {
            "date": DAY_S,
            "counters": len(per),
            "records": sum(p["hours"] for p in per.values()),
            "sum_counts_total": total_d,
            "sum_counts_total_without_record_lacking_coordinates": total_d - sum(
                x["sum_counts"] for x in nocoord if parse_iso_offset(x["date"]) and
                hour_ending_day_and_hour(parse_iso_offset(x["date"]))[0] == DAY_S),
            "records_without_coordinates": nocoord,
            "all_zero_counters": all_zero,
            "counters_more_than_6_hours_missing": miss6,
            "hours_present_by_counter": {c: p["hours"] for c, p in sorted(per.items())},
            "total_by_counter": {c: p["total"] for c, p in sorted(per.items())},
            "top10": [{"id_compteur": c, "nom_compteur": p["nom_compteur"], "total": p["total"]} for c, p in top],
            "hourly_by_local_start_hour": {"%02d" % h: prof[h] for h in range(24)},
            "real_counter": {"id_compteur": REAL_COUNTER["id_compteur"],
                             "total": per[REAL_COUNTER["id_compteur"]]["total"],
                             "hours": per[REAL_COUNTER["id_compteur"]]["hours"],
                             "peak_local_start_hour": max(per[REAL_COUNTER["id_compteur"]]["values"].items(),
                                                          key=lambda kv: (kv[1], -kv[0]))[0]},
        },
    }


# --------------------------------------------------------------------------- weather

WEATHER_DAYS = [
    # date, base temp, amplitude, min hour, rain hours {local hour: mm}, wind base, cloud, source
    (dt.date(2025, 2, 3), 6.8, 2.6, 6, {9: 0.6, 10: 1.3, 11: 1.1, 12: 0.9, 13: 1.2, 14: 0.8, 16: 0.5}, 19.0, 92, "obs"),
    (dt.date(2025, 2, 4), 3.6, 3.4, 7, {15: 0.2, 16: 0.1}, 12.0, 58, "comb"),
    (dt.date(2025, 2, 5), 4.9, 2.2, 6, {18: 0.7, 19: 0.9, 20: 0.5}, 27.0, 84, "fcst"),
]


def _conditions(precip, cloud):
    if precip > 0:
        return ("Rain, Overcast" if cloud >= 80 else "Rain, Partially cloudy"), "rain"
    if cloud >= 80:
        return "Overcast", "cloudy"
    if cloud >= 20:
        return "Partially cloudy", "partly-cloudy-day"
    return "Clear", "clear-day"


WEATHER_FACTS = ("temp", "tempmin", "tempmax", "precip", "windspeed", "conditions")   # read back per day
WEATHER_DESCRIPTIONS = {"obs": "Cloudy skies throughout the day with rain.",
                        "comb": "Partly cloudy throughout the day with late afternoon rain.",
                        "fcst": "Cloudy skies throughout the day with rain in the evening."}


def weather_day(rng, d, shape, source, sunrise, sunset, describe):
    """Visual Crossing `days` entry of Paris day d, one entry per local hour (23, 24 or 25).

    `shape` = (base temp, amplitude, hour of the minimum, rain {local hour: mm}, wind base, cloud cover):
    hourly values follow a diurnal curve plus `rng` noise; the daily values are the mean, extremes or
    sum of the hours, as the API computes them. `describe(precip)` gives the day's description."""
    base, amp, tmin_h, rain, wind, cloud = shape
    hours = []
    for hs in day_hour_starts(d):
        h = paris_local(hs).hour
        phase = math.cos((h - (tmin_h + 8)) / 24.0 * 2 * math.pi)
        temp = round(base + amp * phase + rng.uniform(-0.3, 0.3), 1)
        ws = round(max(0.0, wind * (0.75 + 0.4 * math.sin((h - 4) / 24.0 * 2 * math.pi)) + rng.uniform(-2, 2)), 1)
        pr = rain.get(h, 0.0)
        cc = max(0.0, min(100.0, round(cloud + rng.uniform(-12, 8), 1)))
        cond, icon = _conditions(pr, cc)
        hum = round(min(100.0, 78 + 12 * (1 - phase) / 2 + (8 if pr else 0) + rng.uniform(-3, 3)), 1)
        hours.append({
            "datetime": "%02d:00:00" % h, "datetimeEpoch": epoch(hs),
            "temp": temp, "feelslike": round(temp - 0.12 * ws, 1), "humidity": hum,
            "precip": pr, "precipprob": 100.0 if pr else 0.0, "preciptype": ["rain"] if pr else None, "snow": 0.0,
            "windgust": round(ws * 1.6, 1), "windspeed": ws, "winddir": round(200 + rng.uniform(-40, 40), 1),
            "pressure": round(1016 - (6 if rain else 0) + rng.uniform(-1, 1), 1),
            "cloudcover": cc, "visibility": 10.0 if not pr else 6.5,
            "conditions": cond, "icon": icon, "source": source,
        })
    n = float(len(hours))
    temps = [x["temp"] for x in hours]
    precip = round(sum(x["precip"] for x in hours), 1)
    cc = round(sum(x["cloudcover"] for x in hours) / n, 1)
    cond, icon = _conditions(precip, cc)
    return {
        "datetime": d.isoformat(), "datetimeEpoch": epoch(local_midnight_utc(d)),
        "tempmax": max(temps), "tempmin": min(temps), "temp": round(sum(temps) / n, 1),
        "feelslike": round(sum(x["feelslike"] for x in hours) / n, 1),
        "humidity": round(sum(x["humidity"] for x in hours) / n, 1),
        "precip": precip, "precipprob": 100.0 if precip else 0.0,
        "precipcover": round(100.0 * sum(1 for x in hours if x["precip"]) / n, 2),
        "preciptype": ["rain"] if precip else None, "snow": 0.0,
        "windgust": max(x["windgust"] for x in hours), "windspeed": max(x["windspeed"] for x in hours),
        "winddir": round(sum(x["winddir"] for x in hours) / n, 1),
        "pressure": round(sum(x["pressure"] for x in hours) / n, 1),
        "cloudcover": cc, "visibility": round(sum(x["visibility"] for x in hours) / n, 1),
        "sunrise": sunrise, "sunset": sunset,
        "conditions": cond, "description": describe(precip),
        "icon": icon, "source": source, "hours": hours,
    }


def weather_rel(d):
    return "api/weather/dt=%s/hour=06/visualcrossing.json" % d.isoformat()


def write_weather_file(raw_dir, d, days, description):
    """The Visual Crossing Timeline response fetched on day d (days D-1, D, D+1) in D's hour=06 folder;
    current conditions are D's 06:00 hour. Returns its path relative to raw_dir."""
    cur = dict(days[1]["hours"][min(6, len(days[1]["hours"]) - 1)])
    cc = {k: cur[k] for k in ("datetime", "datetimeEpoch", "temp", "feelslike", "humidity", "precip", "windgust",
                              "windspeed", "winddir", "pressure", "cloudcover", "visibility", "conditions", "icon")}
    cc["source"] = "obs"
    doc = {
        "queryCost": 1, "latitude": 48.8566, "longitude": 2.3522,
        "resolvedAddress": "Paris, Île-de-France, France", "address": "Paris",
        "timezone": "Europe/Paris", "tzoffset": float(paris_offset(local_midnight_utc(d) + dt.timedelta(hours=12))),
        "description": description,
        "days": days, "currentConditions": cc,
    }
    rel = weather_rel(d)
    write_bytes(os.path.join(raw_dir, rel), _dumps(doc).encode("utf-8"))
    return rel


def build_weather(raw_dir):
    rng = random.Random(SEED * 10 + 3)
    days = []
    for d, *shape, source in WEATHER_DAYS:
        off = (d - DAY).days
        days.append(weather_day(rng, d, shape, source, "08:%02d:41" % (19 - 2 * off), "17:%02d:12" % (40 + 2 * off),
                                lambda precip, s=source: WEATHER_DESCRIPTIONS[s]))
    return write_weather_file(raw_dir, DAY, days, "Similar temperatures continuing with a chance of rain.")


def analyse_weather(raw_dir, rel):
    doc = json.load(open(os.path.join(raw_dir, rel), encoding="utf-8"))
    out = {"file": rel, "days_in_file": [d["datetime"] for d in doc["days"]]}
    for d in doc["days"]:
        out[d["datetime"]] = {k: d[k] for k in WEATHER_FACTS}
    d = [x for x in doc["days"] if x["datetime"] == DAY_S][0]
    cats = []
    if d["precip"] >= 5:
        cats.append("Pluvieux")
    if d["windspeed"] >= 30:
        cats.append("Venteux")
    if d["temp"] < 10:
        cats.append("Froid")
    if d["temp"] > 25:
        cats.append("Chaud")
    out["day"] = {"date": DAY_S, "categories_by_spec_thresholds_on_daily_values": cats}
    return out


# --------------------------------------------------------------------------- velib

VELIB_TIMES = (("08", 8), ("12", 12), ("18", 18), ("22", 22))   # folder, Paris wall-clock hour
VELIB_ODDS = (0.02, 0.035, 0.65)   # step_station thresholds of the one-day snapshots: emptied, filled, small moves


def gbfs_bytes(doc):
    """The serialisation of the real GBFS feeds: compact, non-ASCII characters kept."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def read_gbfs(src):
    """(bytes, document) of a real GBFS feed, checked to be written the way gbfs_bytes writes."""
    data = open(real(src), "rb").read()
    doc = json.loads(data)
    assert gbfs_bytes(doc) == data
    return data, doc


def step_station(rng, s, cur, o, odds):
    """Set the counts of station `s` one snapshot after `cur`, when the real station `o` is installed,
    renting and returning (other stations keep the real counts). With u = rng.random(): emptied when
    u < odds[0], filled when u < odds[1], mechanical +-3 and ebike +-2 when u < odds[2]; bikes + docks
    stay the real station's total and the camelCase duplicates stay equal."""
    if (o["is_installed"], o["is_renting"], o["is_returning"]) != (1, 1, 1):
        return
    mech = cur["num_bikes_available_types"][0]["mechanical"]
    ebike = cur["num_bikes_available_types"][1]["ebike"]
    slots = o["num_bikes_available"] + o["num_docks_available"]
    u = rng.random()
    if u < odds[0]:
        mech, ebike = 0, 0
    elif u < odds[1]:
        mech += slots - mech - ebike
    elif u < odds[2]:
        mech = max(0, mech + rng.randint(-3, 3))
        ebike = max(0, ebike + rng.randint(-2, 2))
    while mech + ebike > slots:
        if mech >= ebike and mech > 0:
            mech -= 1
        else:
            ebike -= 1
    s["num_bikes_available_types"] = [{"mechanical": mech}, {"ebike": ebike}]
    s["num_bikes_available"] = s["numBikesAvailable"] = mech + ebike
    s["num_docks_available"] = s["numDocksAvailable"] = slots - mech - ebike


def build_velib(raw_dir):
    rng = random.Random(SEED * 10 + 4)
    orig_bytes, orig = read_gbfs(SRC_VELIB_STATUS)
    L0 = orig["lastUpdatedOther"]
    day_start = epoch(local_midnight_utc(DAY))
    state = json.loads(orig_bytes)
    files = [os.path.join("api/velib/dt=%s/hour=08" % DAY_S, "station_information.json")]
    copy_real(SRC_VELIB_INFO, os.path.join(raw_dir, files[0]))
    kept_old = [s["stationCode"] for s in orig["data"]["stations"] if s["last_reported"] < day_start]
    for hour, hh in VELIB_TIMES:
        inst = paris_wall_epoch(DAY, hh)
        snap = json.loads(orig_bytes)
        snap["lastUpdatedOther"] = inst
        for s, cur, o in zip(snap["data"]["stations"], state["data"]["stations"], orig["data"]["stations"]):
            if o["last_reported"] >= day_start:
                s["last_reported"] = o["last_reported"] + (inst - L0)
            step_station(rng, s, cur, o, VELIB_ODDS)
        state = snap
        rel = "api/velib/dt=%s/hour=%s/station_status.json" % (DAY_S, hour)
        write_bytes(os.path.join(raw_dir, rel), gbfs_bytes(snap))
        files.append(rel)
    return {"files": files, "kept_last_reported": kept_old}


def analyse_velib(raw_dir, files):
    info = json.load(open(os.path.join(raw_dir, files[0]), encoding="utf-8"))
    snaps = []
    empty_count = {}
    for rel in files[1:]:
        d = json.load(open(os.path.join(raw_dir, rel), encoding="utf-8"))
        st = d["data"]["stations"]
        inst = [s for s in st if s["is_installed"] == 1]
        for s in st:
            types = {list(t)[0]: list(t.values())[0] for t in s["num_bikes_available_types"]}
            assert types["mechanical"] + types["ebike"] == s["num_bikes_available"] == s["numBikesAvailable"]
            assert s["num_docks_available"] == s["numDocksAvailable"] >= 0
        for s in inst:
            if s["num_bikes_available"] == 0:
                empty_count[s["stationCode"]] = empty_count.get(s["stationCode"], 0) + 1
        snaps.append({
            "file": rel, "lastUpdatedOther": d["lastUpdatedOther"], "paris_time": _paris_iso(d["lastUpdatedOther"]),
            "stations": len(st), "installed": len(inst),
            "installed_and_renting": sum(1 for s in inst if s["is_renting"] == 1),
            "bikes_available": sum(s["num_bikes_available"] for s in st),
            "mechanical": sum(s["num_bikes_available_types"][0]["mechanical"] for s in st),
            "ebike": sum(s["num_bikes_available_types"][1]["ebike"] for s in st),
            "docks_available": sum(s["num_docks_available"] for s in st),
            "installed_empty": sum(1 for s in inst if s["num_bikes_available"] == 0),
            "installed_full": sum(1 for s in inst if s["num_docks_available"] == 0),
            "max_last_reported_le_lastUpdatedOther": max(s["last_reported"] for s in st) <= d["lastUpdatedOther"],
        })
    n = len(snaps)
    always_empty = sorted(c for c, k in empty_count.items() if k == n)
    return {
        "station_information_stations": len(info["data"]["stations"]),
        "snapshots": snaps,
        "day": {"date": DAY_S, "snapshots": n,
                "mean_bikes_available_per_snapshot": sum(s["bikes_available"] for s in snaps) / n,
                "mean_mechanical_per_snapshot": sum(s["mechanical"] for s in snaps) / n,
                "mean_ebike_per_snapshot": sum(s["ebike"] for s in snaps) / n,
                "installed_station_snapshots": sum(s["installed"] for s in snaps),
                "installed_empty_station_snapshots": sum(s["installed_empty"] for s in snaps),
                "installed_full_station_snapshots": sum(s["installed_full"] for s in snaps),
                "installed_stations_empty_in_every_snapshot": len(always_empty)},
    }


def _paris_iso(ts):
    utc = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=ts)
    off = paris_offset(utc)
    loc = utc + dt.timedelta(hours=off)
    return loc.strftime("%Y-%m-%dT%H:%M:%S") + "+%02d:00" % off


# --------------------------------------------------------------------------- chantiers, traffic, référentiel facts

def read_chantiers(path):
    """(file bytes, header, records) of the chantiers CSV (BOM, `;`, multi-line quoted fields)."""
    raw = open(path, "rb").read()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    return raw, rows[0], rows[1:]


def analyse_chantiers(path):
    raw, h, rows = read_chantiers(path)
    i_id, i_deb, i_fin, i_imp, i_cp = (h.index(x) for x in ("Identifiant", "Date de début", "Date de fin",
                                                             "Impact sur la circulation",
                                                             "Code postal de l'arrondissement"))
    bad = [r[i_id] for r in rows if r[i_deb] and r[i_fin] and r[i_fin] < r[i_deb]]
    act = [r for r in rows if r[i_deb] and r[i_fin] and r[i_deb] <= r[i_fin] and r[i_deb] <= DAY_S <= r[i_fin]]
    by_cp = _count(r[i_cp] or "" for r in act)
    weights = {"BARRAGE_TOTAL": 100, "IMPASSE": 80, "RESTREINTE": 50, "SENS_UNIQUE": 30}
    score = {}
    for r in act:
        score[r[i_cp]] = score.get(r[i_cp], 0) + weights.get(r[i_imp], 0)
    return {
        "file": "batch/chantiers-perturbants.csv", "bom": raw[:3] == b"\xef\xbb\xbf",
        "records": len(rows), "physical_lines": raw.count(b"\n"),
        "end_before_start": bad,
        "day": {"date": DAY_S, "active_works": len(act), "active_ids": sorted(r[i_id] for r in act),
                "active_by_impact": _count(r[i_imp] for r in act),
                "active_by_arrondissement": by_cp,
                "arrondissements_with_more_than_3_active": sorted(k for k, v in by_cp.items() if v > 3),
                "impact_score_by_arrondissement": dict(sorted(score.items()))},
    }


def _compact(s):
    return dt.datetime.strptime(s, "%Y%m%dT%H%M%S")


def disruption_active_on(x, d):
    """A disruption is active on day d when one applicationPeriod (Paris local time) overlaps
    d 00:00:00..23:59:59, ends inclusive."""
    d0 = dt.datetime.combine(d, dt.time(0))
    d1 = dt.datetime.combine(d, dt.time(23, 59, 59))
    return any(_compact(p["begin"]) <= d1 and _compact(p["end"]) >= d0 for p in x["applicationPeriods"])


def analyse_traffic(raw_dir, rel_d, rel_l):
    dis = json.load(open(os.path.join(raw_dir, rel_d), encoding="utf-8"))
    lines = json.load(open(os.path.join(raw_dir, rel_l), encoding="utf-8"))
    d0 = dt.datetime.combine(DAY, dt.time(0))
    active = [x for x in dis if disruption_active_on(x, DAY)]
    act_ids = {x["id"] for x in active}
    blocking = {x["id"]: x for x in active if x["severity"] == "BLOQUANTE"}
    lines_active = [l for l in lines if any(i in act_ids for o in l["impactedObjects"] for i in o["disruptionIds"])]
    # reliability, one explicit definition: slot (line, local hour of D) is blocked when a BLOQUANTE
    # disruption referenced by any impacted object of the line has a period overlapping that hour
    blocked = 0
    for l in lines:
        ids = sorted({i for o in l["impactedObjects"] for i in o["disruptionIds"] if i in blocking})
        for h in range(24):
            hs = d0 + dt.timedelta(hours=h)
            he = hs + dt.timedelta(hours=1)
            if any(_compact(p["begin"]) < he and _compact(p["end"]) > hs
                   for i in ids for p in blocking[i]["applicationPeriods"]):
                blocked += 1
    return {
        "files": [rel_d, rel_l], "disruptions": len(dis), "lines": len(lines),
        "lines_by_mode": _count(l["mode"] for l in lines),
        "day": {"date": DAY_S,
                "rule": "a disruption is active when one applicationPeriod (Paris local time) overlaps 2025-02-04 00:00:00..23:59:59, ends inclusive",
                "active_disruptions": len(active),
                "active_by_severity": _count(x["severity"] for x in active),
                "active_by_cause": _count(x["cause"] for x in active),
                "lines_referencing_an_active_disruption_by_mode": _count(l["mode"] for l in lines_active),
                "reliability_index_one_definition": round(100.0 * (1 - blocked / (24.0 * len(lines))), 3),
                "reliability_definition": "100 * share of (line, local hour of D) slots, over all lines of the feed, with no BLOQUANTE disruption referenced by any impactedObject of the line (line, stop_point or network) whose period overlaps the hour (end-exclusive overlap)"},
    }


def analyse_referentiel(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))[1:]
    ids = {}
    for r in rows:
        ids[r[0]] = ids.get(r[0], 0) + 1
    return {"file": "batch/referentiel-comptages-routiers.csv", "rows": len(rows), "arcs": len(ids),
            "arcs_with_several_pieces": sum(1 for v in ids.values() if v > 1)}


# --------------------------------------------------------------------------- docs

def write_expected_md(path, exp, design):
    c = exp["comptages"]
    cd = c["day"]
    b = exp["bikes"]
    bd = b["day"]
    w = exp["weather"]
    v = exp["velib"]
    ch = exp["chantiers"]
    t = exp["traffic"]
    L = []
    a = L.append
    a("# Sample day 2025-02-04: facts to check")
    a("")
    a("All numbers below are in `expected.json` (same directory; its file paths are relative to `raw/`), computed")
    a("by `tools/build_sample.py` by reading the written files back. Days are Europe/Paris calendar days; comptages")
    a("and bike rows stamped `T` count the hour ending at `T` (a row stamped `2025-02-04T00:00:00+01:00` belongs to")
    a("2025-02-03, a row stamped `2025-02-05T00:00:00+01:00` belongs to 2025-02-04).")
    a("")
    a("## comptages (`raw/batch/comptages-routiers-permanents.csv`)")
    a("")
    a("- %d data records (+ header), %s, BOM: %s, %d bytes." % (c["data_records"], c["line_terminator"],
                                                              "yes" if c["bom"] else "no", c["bytes"]))
    a("- Malformed records: **%d** — %s." % (c["malformed_rows"], ", ".join(
        "%s %d" % (k, n) for k, n in c["malformed_by_reason"].items())))
    for m in c["malformed_lines"]:
        a("  - physical line %d: %s%s" % (m["line"], m["reason"],
                                          " (%d fields)" % m["fields"] if "fields" in m else " (value `%s`)" % m["value"]))
    kinds = ", ".join("%s (arc %d, stamp %s)" % (m["kind"], m["arc"], m["stamp"]) for m in design["comptages"]["malformed"])
    a("  - as built: %s." % kinds)
    a("- Valid rows by Paris day: %s." % ", ".join("%s: %d" % kv for kv in c["valid_rows_by_paris_day"].items()))
    a("- 2025-02-04: **%d rows, %d arcs**, total Débit **%s** vehicles; %d rows with empty Débit, %d with empty Taux"
      " (%d both empty)." % (cd["rows"], cd["arcs"], _num(cd["debit_total"]), cd["rows_debit_empty"],
                             cd["rows_taux_empty"], cd["rows_both_empty"]))
    a("- Arc-hours by Etat trafic: %s." % ", ".join("%s %d" % kv for kv in cd["etat_trafic_arc_hours"].items()))
    a("- Etat arc on the day's rows: %s (do not treat `Invalide` as bad data)." % ", ".join(
        "%s %d" % kv for kv in cd["etat_arc_rows"].items()))
    a("- Hourly Débit peak: local hour %02d:00–%02d:00." % (cd["peak_hour_local_start"], cd["peak_hour_local_start"] + 1))
    a("- Arcs with 24 rows: %d; with ≥ 18 rows: %d; with ≥ 18 Débit values: %d." % (
        cd["arcs_with_24_rows"], cd["arcs_with_at_least_18_rows"], cd["arcs_with_at_least_18_debit_values"]))
    a("- Congestion alerts (Taux ≥ 80 for ≥ 2 consecutive hours inside the day):")
    for arc, x in cd["congestion_alerts"].items():
        a("  - arc %s `%s`: %s" % (arc, x["libelle"], "; ".join(
            "%s → %s (%d h, max %s, %s)" % (al["from"], al["to"], al["hours"], _num(al["max_taux"]), al["severite"])
            for al in x["alerts"])))
    near = design["comptages"]["congestion"]
    a("- Not alerts (traps): " + "; ".join(
        "arc %d (%s)" % (near[k]["arc"], ", ".join("%s=%s" % (s, _num(tv)) for s, tv in near[k]["taux_by_stamp"].items()))
        for k in ("N1", "N2", "N3", "N4")) + ". N3 and N4 have two consecutive ≥ 80 hours only across the day boundary.")
    sp = design["comptages"]["special"]
    a("- Arcs with more than 6 hours without a row: %s (arc %d has exactly 6 hours without a row and is not one)."
      % (", ".join(str(x) for x in cd["arcs_more_than_6_hours_without_row"]), sp["G6_gap6"]))
    a("- Arcs with the same non-zero Débit for ≥ 12 consecutive hours: %s (arc %d has 236.0 for only 11 hours;"
      " arc %d has 0.0 for 13 hours with Etat arc `Barré`, zero does not count)." % (
          ", ".join(str(x) for x in cd["arcs_same_nonzero_debit_12h_or_more"]), sp["K2_const11"], sp["Z1_zero13"]))
    a("- Arc 5671 (`Convention`) has a row every hour with Taux but never a Débit (as in the real 2022 export of that"
      " arc): it is in `arcs_more_than_6_hours_without_debit` but not in `arcs_more_than_6_hours_without_row`.")
    a("- Top 3 arcs by daily Débit: %s." % "; ".join(
        "%d `%s` %s" % (x["arc"], x["libelle"], _num(x["debit_total"])) for x in cd["top10_arcs_by_debit_total"][:3]))
    a("")
    a("## référentiel")
    a("")
    r = exp["referentiel"]
    a("- %d rows, %d distinct arcs, %d arcs with several pieces; every arc of the day is in it (%d missing)." % (
        r["rows"], r["arcs"], r["arcs_with_several_pieces"], cd["arcs_not_in_referentiel"]))
    a("")
    a("## chantiers (`raw/batch/chantiers-perturbants.csv`)")
    a("")
    a("- %d records (%d physical lines, multi-line quoted fields), BOM: %s." % (
        ch["records"], ch["physical_lines"], "yes" if ch["bom"] else "no"))
    a("- End before start (reject): %s." % ", ".join(ch["end_before_start"]))
    a("- **%d works active on 2025-02-04** (start ≤ D ≤ end, inclusive): %s." % (
        ch["day"]["active_works"], ", ".join("%s %d" % kv for kv in ch["day"]["active_by_impact"].items())))
    a("- Arrondissements with more than 3 active works: %s." % ", ".join(ch["day"]["arrondissements_with_more_than_3_active"]))
    a("")
    a("## traffic (PRIM snapshot, `raw/api/traffic/dt=2025-02-04/hour=08/`)")
    a("")
    a("- %d disruptions, %d lines (%s)." % (t["disruptions"], t["lines"], ", ".join(
        "%s %d" % kv for kv in t["lines_by_mode"].items())))
    a("- **%d disruptions active on 2025-02-04**: %s." % (t["day"]["active_disruptions"], ", ".join(
        "%s %d" % kv for kv in t["day"]["active_by_severity"].items())))
    a("- Lines referencing an active disruption, by mode: %s." % ", ".join(
        "%s %d" % kv for kv in t["day"]["lines_referencing_an_active_disruption_by_mode"].items()))
    a("- reliability_index with the definition written in expected.json: %s." % _num(t["day"]["reliability_index_one_definition"]))
    a("")
    a("## bikes (counters)")
    a("")
    a("- %d files (%d JSON documents), %d records in files, %d after removing the duplicate." % (
        len(b["files"]), b["documents"], b["records_in_files"], b["unique_records"]))
    for d in b["duplicates"]:
        a("- Duplicated record: `%s` at `%s`, identical copies in %s." % (d["id_compteur"], d["date"], " and ".join(
            "`%s`" % f for f in d["files"])))
    a("- Unique records by Paris day: %s." % ", ".join("%s: %d" % kv for kv in b["unique_records_by_paris_day"].items()))
    a("- 2025-02-04: %d counters, %d records, Σ sum_counts **%d** (%d without the record lacking coordinates)." % (
        bd["counters"], bd["records"], bd["sum_counts_total"], bd["sum_counts_total_without_record_lacking_coordinates"]))
    for x in bd["records_without_coordinates"]:
        a("- Record without `coordinates`: `%s` at `%s` (sum_counts %d); the counter's other records have them." % (
            x["id_compteur"], x["date"], x["sum_counts"]))
    a("- All-zero counter: %s. More than 6 hours missing: %s." % (
        ", ".join("`%s`" % x for x in bd["all_zero_counters"]),
        ", ".join("`%s`" % x for x in bd["counters_more_than_6_hours_missing"])))
    rc = bd["real_counter"]
    a("- Real counter `%s`: %d hours, total %d, peak hour %02d:00–%02d:00." % (
        rc["id_compteur"], rc["hours"], rc["total"], rc["peak_local_start_hour"], rc["peak_local_start_hour"] + 1))
    a("")
    a("## weather (`%s`)" % w["file"])
    a("")
    for day in w["days_in_file"]:
        x = w[day]
        a("- %s: temp %s °C (min %s, max %s), precip %s mm, wind %s km/h, `%s`%s." % (
            day, _num(x["temp"]), _num(x["tempmin"]), _num(x["tempmax"]), _num(x["precip"]), _num(x["windspeed"]),
            x["conditions"], " ← day D" if day == DAY_S else ""))
    a("- Categories of D by the spec thresholds: %s (the first day of the file would give different ones)." % ", ".join(
        w["day"]["categories_by_spec_thresholds_on_daily_values"]))
    a("")
    a("## velib (GBFS)")
    a("")
    a("- station_information: %d stations. station_status snapshots:" % v["station_information_stations"])
    for s in v["snapshots"]:
        a("  - %s: %d stations, %d installed, bikes %d (mechanical %d, ebike %d), docks %d, installed empty %d, full %d." % (
            s["paris_time"], s["stations"], s["installed"], s["bikes_available"], s["mechanical"], s["ebike"],
            s["docks_available"], s["installed_empty"], s["installed_full"]))
    vd = v["day"]
    a("- Day: mean bikes available per snapshot %s (mechanical %s, ebike %s); installed station-snapshots %d, empty %d,"
      " full %d; %d installed stations empty in every snapshot." % (
          _num(vd["mean_bikes_available_per_snapshot"]), _num(vd["mean_mechanical_per_snapshot"]),
          _num(vd["mean_ebike_per_snapshot"]), vd["installed_station_snapshots"], vd["installed_empty_station_snapshots"],
          vd["installed_full_station_snapshots"], vd["installed_stations_empty_in_every_snapshot"]))
    a("")
    write_text(path, L)


def _num(x):
    if isinstance(x, float) and x == int(x):
        return str(int(x))
    if isinstance(x, float):
        return ("%.3f" % x).rstrip("0").rstrip(".")
    return str(x)


def write_provenance_md(path, out_dir, design):
    raw = os.path.join(out_dir, "raw")
    files = []
    for base, dirs, fs in os.walk(raw):
        dirs.sort()
        for fn in sorted(fs):
            p = os.path.join(base, fn)
            files.append((os.path.relpath(p, out_dir), os.path.getsize(p), sha256(p)))
    files.sort()
    total = sum(s for _, s, _ in files)
    cm = design["comptages"]
    bk = design["bikes"]
    L = []
    a = L.append
    a("# Provenance of the sample raw tree (day 2025-02-04)")
    a("")
    a("Everything under `raw/` is produced by `python3 tools/build_sample.py` from the real samples in")
    a("`test/fixtures/real/` (their origin — repository, path, commit — is in `test/fixtures/real/SOURCES.md`).")
    a("The script uses the standard library only and fixed seeds (base seed %d; comptages %d, bikes %d, weather %d,"
      " velib %d); running it again gives the same bytes." % (SEED, SEED * 10 + 1, SEED * 10 + 2, SEED * 10 + 3, SEED * 10 + 4))
    a("")
    a("## Files")
    a("")
    a("| File | Bytes | SHA-256 | Kind |")
    a("|---|---|---|---|")
    kinds = {
        "referentiel-comptages-routiers.csv": "real, byte copy",
        "chantiers-perturbants.csv": "real, byte copy",
        "comptages-routiers-permanents.csv": "built: real arcs, synthetic counts",
        "station_information.json": "real, byte copy",
        "station_status.json": "built from a real snapshot",
        "visualcrossing.json": "synthetic",
    }
    for rel, size, h in files:
        fn = os.path.basename(rel)
        kind = kinds.get(fn)
        if kind is None:
            kind = "real, byte copy" if "/traffic/" in rel else "built: 1 real counter + synthetic counters"
        a("| `%s` | %d | `%s` | %s |" % (rel, size, h[:16], kind))
    a("")
    a("Total: %d bytes in %d files." % (total, len(files)))
    a("")
    a("## Real byte copies")
    a("")
    a("| File here | Copied from `test/fixtures/real/` | Original repository, path, commit |")
    a("|---|---|---|")
    a("| `raw/batch/referentiel-comptages-routiers.csv` | `%s` | Noobzik/Paris_AIS, `referentiel-comptages-routiers.csv`, 9cd6a2632d86e4606459e2cc11db0f68d4db37c6 (portal export, Feb 2022; 3,739 rows, 3,348 arcs) |" % SRC_REFERENTIEL)
    a("| `raw/batch/chantiers-perturbants.csv` | `%s` | bz7bd822j5-star/lexparmap, `data/csv/chantiers-perturbants.csv`, 6b2d26d28e5da47c7163fc64d6f2db5627882123 (snapshot late 2025; BOM, CRLF records with LF inside quoted fields) |" % SRC_CHANTIERS)
    a("| `raw/api/traffic/dt=2025-02-04/hour=08/%s` | `%s` | MaximeChab/PR6, `disruptions.json`, 535a468c4037a911ad3258cbe9e32952af273096 (IDFM PRIM disruptions_bulk v2, `disruptions` array, snapshot of 2025-02-04) |" % (os.path.basename(SRC_PRIM_DISRUPTIONS), SRC_PRIM_DISRUPTIONS))
    a("| `raw/api/traffic/dt=2025-02-04/hour=08/%s` | `%s` | MaximeChab/PR6, `lines.json`, same commit (the `lines` array of the same response) |" % (os.path.basename(SRC_PRIM_LINES), SRC_PRIM_LINES))
    a("| `raw/api/velib/dt=2025-02-04/hour=08/station_information.json` | `%s` | dariusbengo/Velib, `station_information.json`, aebb7ccba3e0893636f0a77ae4edbb90c2744779 (GBFS, 2025-10-18, 1,495 stations) |" % SRC_VELIB_INFO)
    a("")
    a("The PRIM files are a snapshot taken on 2025-02-04 (`lastUpdate` up to 20250204T144625); the folder `hour=08` is"
      " a choice of this sample, the real fetch hour is not known. The two arrays of one response are kept in two files"
      " as in the source repository; a reader must take `disruptions` from one and `lines` from the other.")
    a("")
    a("## Built files")
    a("")
    a("### `raw/batch/comptages-routiers-permanents.csv`")
    a("")
    a("- Format of the real portal export (data-formats §1): `;`, UTF-8 without BOM, CRLF, the real 15-label header,")
    a("  `Débit horaire` written `1034.0`, `Taux d'occupation` with 2 or up to 5 decimals, `Etat trafic` from the Taux")
    a("  thresholds (`Inconnu` when Taux is empty), `geo_point_2d` `lat, lon` unquoted, `geo_shape` quoted with doubled")
    a("  quotes, `Date debut/fin dispo data` = `%s`/`%s` on every row (as in 2025 exports)." % (DISPO_DEBUT, DISPO_FIN))
    a("- **Real** (from `raw/batch/referentiel-comptages-routiers.csv`): %d arcs — the 9 arcs of the real count samples" % cm["arcs"])
    a("  (4264, 5671, 191, 5462, 5472, 5459, 5482, 5465, 6124) plus a seeded random draw of the other référentiel arcs;")
    a("  for each, `Identifiant arc`, `Libelle`, node ids and labels (référentiel columns aval/amont put back in the counts")
    a("  order amont/aval), `geo_point_2d` (same numbers, written with `, `) and `geo_shape` (same string). For the arcs")
    a("  that have several pieces in the référentiel, the rows carry the geometry of the first piece (the counts geometry")
    a("  of such arcs was not observed in real data).")
    a("- **Synthetic**: every `Débit horaire`, `Taux d'occupation`, `Etat arc` value. Hourly values follow the weekday")
    a("  profile of `tools/gen_comptages.py` (`PROFILE_WEEKDAY`, counter-peak direction ×0.85, day factor, lognormal noise,")
    a("  occupancy = 1 + 30·load²·scale + noise, occasional peak-hour slowdowns) applied to the hour that ENDS at the")
    a("  stamp; capacity by road type from the libellé (PE/PI périphérique 3,000–7,000 veh/h, accesses/bretelles/VGP")
    a("  800–2,600, Bd/Av/Quai/… 250–1,500, others 60–800). Outside the designed cases below, occupancy stays < 77.")
    a("  `Etat arc`: `Invalide` ~70 %, `Ouvert` ~28 %, `Barré` ~2 % per arc.")
    a("- Stamps: `2025-02-04T00:00:00+01:00` (belongs to 2025-02-03) to `2025-02-05T00:00:00+01:00` for every arc, plus")
    a("  `2025-02-05T01:00`/`02:00` for %d arcs (and `03:00` for 10 of them)." % cm["arcs_with_rows_on_next_day"])
    a("- Empty values on regular arcs: ~1 %% both empty, ~1 %% Débit only, ~1 %% Taux only; ~0.4 %% of rows absent (%d rows)." % cm["random_absent_rows"])
    a("- Designed cases (arc ids in `expected.json` → `design`): 6 congested arcs (Taux ≥ 80 for 2–5 consecutive hours,")
    a("  4 reaching ≥ 90, including the exact values 80.0 and 90.0), 4 near misses, 2 arcs with more than 6 hours of")
    a("  absent rows and 1 with exactly 6, 1 arc with Débit 412.0 for 14 hours and 1 with 236.0 for 11 hours, 1 `Barré`")
    a("  arc with 0.0/0.0 for 13 hours, arc 5671 with Débit empty all day and Taux present (as in its real 2022 export).")
    a("- 5 malformed rows replace valid rows: an unquoted `;` inside `Libelle` (16 fields), a row cut after 9 fields,")
    a("  a date `DD/MM/YYYY HH:00`, an empty date, a `Débit horaire` of `n/a`.")
    a("- Row order: batches of 6 stamps, rows shuffled inside each batch, ~0.5 % of rows written one batch late.")
    a("")
    a("### `raw/api/bikes/`")
    a("")
    a("- Shape: ODS Explore API v2.1 records, `{\"total_count\": n, \"results\": [...]}`, keys `id_compteur`,")
    a("  `nom_compteur`, `id`, `name`, `sum_counts` (integer), `date` (ISO with `+01:00`, end of the counted hour),")
    a("  `installation_date`, `coordinates` `{lon, lat}`, `counter`, `mois_annee_comptage` (`2025-02`). Compact JSON, UTF-8.")
    a("- **Real counter** `%s` (97 avenue Denfert Rochereau SO-NE; id, names, installation date, coordinates and" % REAL_COUNTER["id_compteur"])
    a("  technical id from `%s`): its real hourly counts of 2021-09-01 put on the same wall-clock" % SRC_BIKE)
    a("  stamps of 2025-02-04 (`+02:00` → `+01:00`). Stamps 01:00, 02:00 and 2025-02-05T00:00 are absent, as the real")
    a("  sample has no 00:00–02:00 rows.")
    a("- **Synthetic counters** (%d, site ids `9000000xx`, channel ids `9cc0000ss`, technical ids `X2H9…`): invented" % (bk["counters"] - 1))
    a("  names and coordinates on Paris streets; hourly values = the real counter's profile (missing hours filled with")
    a("  stamp 00:00 → 11, 01:00 → 6, 02:00 → 4, next-day 00:00 → 9) × a per-counter scale × uniform noise 0.85–1.15;")
    a("  the second channel of a site has its morning and evening peaks swapped. One counter has scale 0 (all zeros):")
    a("  `%s`; `%s` has no record for stamps 09:00–16:00;" % (bk["all_zero_counter"], bk["gap_counter"]))
    a("  the record of `%s` at `%s` has no `coordinates` key." % (bk["no_coordinates_record"]["id_compteur"], bk["no_coordinates_record"]["date"]))
    a("- Files: old layout `dt=2025-02-04/hour=06` (stamps 2025-02-04T00:00–06:00; the 00:00 records belong to 2025-02-03),")
    a("  `hour=12` (07:00–12:00), `hour=18` (13:00–18:00, plus one duplicate of the real counter's 12:00 record),")
    a("  `hour=23` (19:00–22:00), pages of at most 100 records (`bikes_data_pN.json`, `total_count` = records of the folder);")
    a("  Lambda layout `2025-02-04/stream-data-<epoch>-<hex>.json` (epoch = 2025-02-04T23:30Z) as JSON Lines, one")
    a("  `{\"total_count\", \"results\"}` page of ≤ 50 records per line, stamps 23:00 and 2025-02-05T00:00.")
    a("")
    a("### `raw/api/weather/dt=2025-02-04/hour=06/visualcrossing.json`")
    a("")
    a("- Synthetic values in the Visual Crossing Timeline shape (metric: °C, mm, km/h): envelope `queryCost`,")
    a("  `latitude`, `longitude`, `resolvedAddress`, `address`, `timezone`, `tzoffset`, `description`, `days`,")
    a("  `currentConditions`; days 2025-02-03 (rainy), 2025-02-04, 2025-02-05 (windy), each with 24 `hours`. Hourly")
    a("  values come from a seeded diurnal curve; daily `temp` is the mean of the hours, `tempmin`/`tempmax` their")
    a("  extremes, `precip` their sum, `windspeed`/`windgust` their maximum. Not real observations.")
    a("")
    a("### `raw/api/velib/dt=2025-02-04/hour=HH/station_status.json` (HH = 08, 12, 18, 22)")
    a("")
    a("- Built from `%s` (dariusbengo/Velib, `station_status.json`, commit aebb7ccba3e0893636f0a77ae4edbb90c2744779)," % SRC_VELIB_STATUS)
    a("  same stations, keys and order, same compact serialisation. Changes: `lastUpdatedOther` set to 08:00, 12:00,")
    a("  18:00, 22:00 Paris time on 2025-02-04; `last_reported` shifted by the same delta (so each station keeps its age),")
    a("  except the %d stations whose real `last_reported` is before 2025-02-04 (%s), kept as they are." % (
        len(design["velib"]["kept_last_reported"]), ", ".join(design["velib"]["kept_last_reported"])))
    a("  Counts change only for stations installed, renting and returning: from one snapshot to the next, seeded small")
    a("  changes (mechanical ±3, ebike ±2, ~2 % emptied, ~1.5 % filled), keeping bikes + docks equal to the real")
    a("  snapshot's total and `num_bikes_available` = mechanical + ebike (duplicated camelCase keys kept equal). Other")
    a("  stations keep the real counts.")
    a("")
    a("## Other files")
    a("")
    a("- `expected.json`, `EXPECTED.md`: facts computed by reading the files above back (see `EXPECTED.md`).")
    a("- `PROVENANCE.md`: this file.")
    a("")
    write_text(path, L)


# --------------------------------------------------------------------------- multi-day tree
#
# `--start YYYY-MM-DD --days N` builds N consecutive Europe/Paris days into OUT/raw, in the layouts
# of the one-day tree, and writes OUT/expected.json with per-day facts read back from the files.
# The arcs, counters and stations are drawn once (fixed seeds); every value of a day comes from
# generators seeded with that day (YYYYMMDD), so a day's values are the same in any range that
# contains it (for the same --arcs and --velib-stations); only the row order of the comptages file,
# the stamp of the day after the range and the station_information instant depend on the range.

MD_SEED_ARCS = SEED * 10 + 5
MD_SEED_ORDER = SEED * 10 + 6
MD_VELIB_TIMES = (("08", 8), ("18", 18))
MD_VELIB_ODDS = (0.03, 0.05, 0.7)   # step_station thresholds of the multi-day snapshots
MD_BIKE_GROUPS = (("06", 0, 6), ("12", 7, 12), ("18", 13, 18), ("23", 19, 23))   # folder <- stamp local hours
MD_MAX_TREE_BYTES = 15 * 1000 * 1000   # disk bytes: traffic copies of days 2..N are hard links


def day_int(d):
    return d.year * 10000 + d.month * 100 + d.day


def day_rng(d, k):
    return random.Random(day_int(d) * 100 + k)


def md_build_comptages(path, ref_arcs, ref_ids, dates, n_arcs):
    rng = random.Random(MD_SEED_ARCS)
    chosen = choose_arcs(rng, ref_arcs, ref_ids, n_arcs)
    params = {a: draw_arc_params(rng, ref_arcs[a]["libelle"], every_class=True) for a in chosen}
    regular = [a for a in chosen if a not in REAL_SAMPLE_ARCS]
    big = [a for a in regular if params[a]["cls"] in ("periph", "fast", "major")]
    if len(big) < 8:
        big = regular
    parts = {a: arc_line_parts(a, ref_arcs[a], params[a]["etat_arc"]) for a in chosen}

    rows = []      # [hour start (UTC), arc, line]
    design = {}
    for d in dates:
        drng = day_rng(d, 1)
        noise = draw_noise(drng, 10)
        hours = day_hour_starts(d)
        picks = drng.sample(big, 5)
        cong = {}
        for j, a in enumerate(picks[:3]):
            n = drng.randint(2, 4)
            h0 = drng.choice((6, 7, 8, 15, 16, 17))
            vals = [round(drng.uniform(80.0, 89.9), 2) for _ in range(n)]
            if j == 0:
                vals[drng.randrange(n)] = round(drng.uniform(90.0, 97.0), 2)
            cong[a] = {h0 + k: v for k, v in enumerate(vals)}
        near, gap_arc = picks[3], picks[4]
        near_taux = {9: 86.0}                # one hour >= 80 only: not an alert
        gap = set(range(10, 18))             # 8 hours without a row
        day_rows = []
        for hi, hs in enumerate(hours):
            stamp = stamp_of(hs + dt.timedelta(hours=1))
            loc = paris_local(hs)
            for a in chosen:
                if a == gap_arc and hi in gap:
                    continue
                p = params[a]
                flow, occ = arc_hour(drng, p, noise, loc)
                debit, taux = fmt_debit(flow), fmt_taux(occ, p["five"])
                forced = cong.get(a, {}).get(hi)
                if forced is None and a == near:
                    forced = near_taux.get(hi)
                if forced is not None:
                    debit, taux = congested_values(flow, forced)
                elif a not in picks:
                    kept = random_blanks(drng, debit, taux)
                    if kept is None:
                        continue
                    debit, taux = kept
                day_rows.append([hs, a, comptages_line(parts[a], stamp, debit, taux)])
        # one malformed row per day replaces a valid row of a regular arc
        kind = MALFORMED_KINDS[d.toordinal() % len(MALFORMED_KINDS)]
        victim = drng.choice([r for r in day_rows if r[1] not in picks and r[1] not in REAL_SAMPLE_ARCS])
        victim_stamp = victim[2].split(";")[2]
        victim[2] = malform_line(victim[2], kind, ref_arcs[victim[1]]["libelle"])
        rows.extend(day_rows)
        design[d.isoformat()] = {
            "congested_arcs": {str(a): {stamp_of(hours[h] + dt.timedelta(hours=1)): v for h, v in sorted(t.items())}
                               for a, t in sorted(cong.items())},
            "near_miss_arc": {"arc": near, "taux_by_stamp": {stamp_of(hours[h] + dt.timedelta(hours=1)): v
                                                              for h, v in near_taux.items()}},
            "arc_without_rows_8h": gap_arc,
            "malformed_row": {"kind": kind, "arc": victim[1], "stamp": victim_stamp},
        }

    t_first = local_midnight_utc(dates[0])

    def batch_of(r):
        return int((r[0] - t_first).total_seconds()) // 3600 // 6

    n_batches = len(rows) and max(batch_of(r) for r in rows) + 1
    write_comptages_export(path, rows, batch_of, n_batches, random.Random(MD_SEED_ORDER))
    return {"arcs": chosen, "by_day": design}


def md_analyse_comptages(path, dates):
    """Read-back of the multi-day comptages file: valid rows, hour-ending rule, per Paris day."""
    raw, records = read_comptages(path)
    n, malformed, by_day = len(records), [], {}
    for line_no, rec, t, reason in records:
        if reason:
            malformed.append({"line": line_no, "reason": reason})
            continue
        start = hour_start_utc(t)
        day = paris_day_of_hour_start(start)
        arcs = by_day.setdefault(day, {})
        arcs.setdefault(int(rec[0]), {})[start] = (None if rec[3] == "" else float(rec[3]),
                                                   None if rec[4] == "" else float(rec[4]))
    out = {}
    for d in dates:
        ds = d.isoformat()
        arcs = by_day.get(ds, {})
        n_hours = len(day_hour_starts(d))
        total, rows, cong = 0.0, 0, {}
        for a, hours in arcs.items():
            rows += len(hours)
            total += sum(q for q, _ in hours.values() if q is not None)
            runs = congestion_runs({hs: k for hs, (_, k) in hours.items()}, dt.timedelta(hours=1))
            if runs:
                cong[str(a)] = "Critique" if max(hours[hs][1] for run in runs for hs in run) >= 90 else "Élevée"
        out[ds] = {
            "hours_in_day": n_hours,
            "rows": rows,
            "arcs": len(arcs),
            "debit_total": total,
            "congested_arcs": dict(sorted(cong.items(), key=lambda kv: int(kv[0]))),
            "congested_arcs_count": len(cong),
            "arcs_more_than_6_hours_without_row": sorted(a for a, h in arcs.items() if n_hours - len(h) > 6),
        }
    facts = {
        "file": "batch/comptages-routiers-permanents.csv", "bytes": len(raw), "data_records": n,
        "malformed_rows": len(malformed), "malformed_lines": malformed,
        "valid_rows": n - len(malformed),
        "valid_rows_by_paris_day": {k: sum(len(h) for h in v.values()) for k, v in sorted(by_day.items())},
    }
    return facts, out


def md_build_bikes(raw_dir, dates):
    counters = synthetic_bike_counters(random.Random(SEED * 10 + 2))   # the counters of the one-day tree
    real_prof = read_real_bike_profile()
    base = bike_base_profile(real_prof)
    zero = [c["id_compteur"] for c in counters if c["scale"] == 0.0]
    gap_c, const_c, gap6_c, const11_c = counters[9], counters[2], counters[11], counters[13]
    last = dates[-1]
    folders = {}     # (folder day, hour) -> records
    design = {}
    for d in dates:
        drng = day_rng(d, 2)
        wd = d.weekday()
        factor = (1.0 if wd < 5 else 0.72 if wd == 5 else 0.58) * drng.uniform(0.9, 1.1)
        hours = day_hour_starts(d)
        o = d.toordinal()
        gap = set(range(9, 17)) if o % 2 == 0 else set()           # 8 hours missing: failing
        const = set(range(6, 19)) if o % 3 == 1 else set()         # 13 equal hours: failing
        gap6 = set(range(10, 16)) if o % 3 == 2 else set()         # exactly 6 hours missing: not failing
        const11 = set(range(7, 18)) if o % 4 == 3 else set()       # 11 equal hours: not failing
        const_v = max(1, int(base[12] * const_c["scale"] * factor + 0.5))
        const11_v = max(1, int(base[12] * const11_c["scale"] * factor + 0.5)) + 1
        for hi, hs in enumerate(hours):
            t = hs + dt.timedelta(hours=1)
            stamp = stamp_of(t)
            loc = paris_local(t)
            lh = loc.hour
            fday = loc.date() if loc.date() <= last else last
            group = "23" if loc.date() > last else [g for g, a, b in MD_BIKE_GROUPS if a <= lh <= b][0]
            recs = folders.setdefault((fday, group), [])
            if lh in real_prof:
                recs.append(_bike_record(REAL_COUNTER, int(real_prof[lh] * factor + 0.5), stamp))
            key = 24 if lh == 0 else lh
            for c in counters:
                v = counter_count(drng, c, base, key, factor)
                if c is gap_c and hi in gap or c is gap6_c and hi in gap6:
                    continue
                if c is const_c and hi in const:
                    v = const_v
                if c is const11_c and hi in const11:
                    v = const11_v
                recs.append(_bike_record(c, v, stamp))
        failing = {z: ["comptages_nuls"] for z in zero}
        if gap:
            failing[gap_c["id_compteur"]] = ["heures_manquantes"]
        if const:
            failing[const_c["id_compteur"]] = ["valeur_constante"]
        design[d.isoformat()] = {"day_factor": round(factor, 4), "failing_counters": dict(sorted(failing.items())),
                                 "counter_6_hours_missing": gap6_c["id_compteur"] if gap6 else None,
                                 "counter_11_equal_hours": const11_c["id_compteur"] if const11 else None}
    files = []
    for (fday, group) in sorted(folders):
        recs = folders[(fday, group)]
        day_rng(fday, 5 + int(group)).shuffle(recs)
        files.extend(write_bike_pages(raw_dir, fday.isoformat(), group, recs))
    return {"counters": 1 + len(counters), "by_day": design, "files": len(files)}


def md_analyse_bikes(raw_dir, dates):
    """Independent read-back of every bike file: (counter, stamp) merged, hour-ending rule, failing rules."""
    seen = {}
    for _, doc in read_bike_docs(raw_dir):
        for r in doc["results"]:
            seen.setdefault((r["id_compteur"], r["date"]), r)
    per_day = {}
    for (cid, stamp), r in seen.items():
        start = hour_start_utc(parse_iso_offset(stamp))
        per_day.setdefault(paris_day_of_hour_start(start), {}).setdefault(cid, {})[start] = r["sum_counts"]
    out = {}
    for d in dates:
        ds = d.isoformat()
        n_hours = len(day_hour_starts(d))
        counters = per_day.get(ds, {})
        failing, total_all, total_ok = {}, 0, 0
        for cid, hours in sorted(counters.items()):
            reasons = []
            vals = [hours[h] for h in sorted(hours)]
            if all(v == 0 for v in vals):
                reasons.append("comptages_nuls")
            if longest_equal_run(hours, dt.timedelta(hours=1))[0] >= 12:
                reasons.append("valeur_constante")
            if n_hours - len(hours) > 6:
                reasons.append("heures_manquantes")
            tot = sum(vals)
            total_all += tot
            if reasons:
                failing[cid] = reasons
            else:
                total_ok += tot
        out[ds] = {"counters": len(counters), "failing_counters": failing,
                   "total_all_counters": total_all, "total_non_failing": total_ok}
    return out


def md_weather_day(d, role):
    """Day d as seen from the file of day D (`role`: obs for D-1, comb for D, fcst for D+1); its shape is
    drawn from d alone, so a day has the same values in the three files that contain it."""
    r = day_rng(d, 3)
    base = r.uniform(1.5, 9.5)
    amp = r.uniform(1.8, 3.6)
    tmin_h = r.choice((5, 6, 7))
    rain = {}
    if r.random() < 0.45:
        h0 = r.randint(6, 16)
        for h in range(h0, h0 + r.randint(2, 7)):
            rain[h] = round(r.uniform(0.2, 1.6), 1)
    wind = r.uniform(8.0, 29.0)
    cloud = r.uniform(35.0, 95.0)
    off = 2 * (d - DAY).days // 3    # sunrise and sunset drift by about 2 minutes every 3 days
    if role == "fcst":
        describe = lambda precip: "Rain during the day." if precip else "No rain expected."   # noqa: E731
    else:
        describe = lambda precip: "Rain during the day." if precip else "Dry throughout the day."   # noqa: E731
    return weather_day(r, d, (base, amp, tmin_h, rain, wind, cloud), role,
                       "08:%02d:41" % max(0, min(59, 19 - off)), "17:%02d:12" % max(0, min(59, 40 + off)),
                       describe)


def md_build_weather(raw_dir, dates):
    one = dt.timedelta(days=1)
    return [write_weather_file(raw_dir, d, [md_weather_day(d - one, "obs"), md_weather_day(d, "comb"),
                                            md_weather_day(d + one, "fcst")],
                               "Changeable weather over the coming days.")
            for d in dates]


def md_build_velib(raw_dir, dates, n_stations):
    _, info = read_gbfs(SRC_VELIB_INFO)
    _, orig = read_gbfs(SRC_VELIB_STATUS)
    info_codes = {s["stationCode"] for s in info["data"]["stations"]}
    keep = [s["stationCode"] for s in orig["data"]["stations"] if s["stationCode"] in info_codes][:n_stations]
    if len(keep) < n_stations or n_stations < 1:
        raise SystemExit("--velib-stations must be between 1 and %d" % len(keep))
    keep_set = set(keep)
    info_sub = [s for s in info["data"]["stations"] if s["stationCode"] in keep_set]
    orig_sub = [s for s in orig["data"]["stations"] if s["stationCode"] in keep_set]
    L0 = orig["lastUpdatedOther"]
    files = []
    for d in dates:
        drng = day_rng(d, 4)
        state = json.loads(json.dumps(orig_sub))
        for k, (folder, hh) in enumerate(MD_VELIB_TIMES):
            inst = paris_wall_epoch(d, hh)
            base = "api/velib/dt=%s/hour=%s" % (d.isoformat(), folder)
            if k == 0:
                # the same information snapshot (first day, first hour) in every day: hard links
                rel = base + "/station_information.json"
                if not files:
                    doc = {"lastUpdatedOther": inst, "ttl": info["ttl"], "data": {"stations": info_sub}}
                    write_bytes(os.path.join(raw_dir, rel), gbfs_bytes(doc))
                else:
                    link_or_copy(os.path.join(raw_dir, files[0]), os.path.join(raw_dir, rel))
                files.append(rel)
            snap = []
            for cur, o in zip(state, orig_sub):
                s = json.loads(json.dumps(o))
                s["last_reported"] = o["last_reported"] + (inst - L0)
                step_station(drng, s, cur, o, MD_VELIB_ODDS)
                snap.append(s)
            state = snap
            doc = {"lastUpdatedOther": inst, "ttl": orig["ttl"], "data": {"stations": snap}}
            rel = base + "/station_status.json"
            write_bytes(os.path.join(raw_dir, rel), gbfs_bytes(doc))
            files.append(rel)
    return files


def md_analyse_velib(raw_dir, dates):
    out = {}
    for d in dates:
        ds = d.isoformat()
        snaps = []
        for base_dir, dirs, files in sorted(os.walk(os.path.join(raw_dir, "api", "velib", "dt=" + ds))):
            dirs.sort()
            for fn in sorted(files):
                doc = json.load(open(os.path.join(base_dir, fn), encoding="utf-8"))
                st = doc["data"]["stations"]
                if st and "num_bikes_available" in st[0]:
                    snaps.append({"paris_time": _paris_iso(doc["lastUpdatedOther"]), "stations": len(st),
                                  "bikes_available": sum(s["num_bikes_available"] for s in st)})
        out[ds] = {"snapshots": len(snaps), "status_snapshots": snaps}
    return out


def md_chantiers_active(path, dates):
    _, h, rows = read_chantiers(path)
    i_id, i_deb, i_fin = h.index("Identifiant"), h.index("Date de début"), h.index("Date de fin")
    works = {}
    for r in rows:
        ok = all(re.fullmatch(r"\d{4}-\d\d-\d\d", r[i]) for i in (i_deb, i_fin)) and r[i_deb] <= r[i_fin]
        if r[i_id] and ok and r[i_id] not in works:
            works[r[i_id]] = (r[i_deb], r[i_fin])
    return {d.isoformat(): sum(1 for a, b in works.values() if a <= d.isoformat() <= b) for d in dates}


def md_traffic_active(raw_dir, rel_d, dates):
    dis = json.load(open(os.path.join(raw_dir, rel_d), encoding="utf-8"))
    return {d.isoformat(): sum(1 for x in dis if disruption_active_on(x, d)) for d in dates}


def build_multi_day(out, start, n_days, n_arcs, n_velib):
    if n_days < 1:
        raise SystemExit("--days must be at least 1")
    dates = [start + dt.timedelta(days=i) for i in range(n_days)]
    raw = start_raw_tree(out)
    ref_arcs, ref_ids, _ = load_referentiel()
    traffic = place_traffic(raw, dates)
    comptages_path = os.path.join(raw, BATCH_COMPTAGES)
    design = {"comptages": md_build_comptages(comptages_path, ref_arcs, ref_ids, dates, n_arcs)}
    design["bikes"] = md_build_bikes(raw, dates)
    md_build_weather(raw, dates)
    md_build_velib(raw, dates, n_velib)

    # ---- independent read-back
    c_facts, c_days = md_analyse_comptages(comptages_path, dates)
    b_days = md_analyse_bikes(raw, dates)
    ch_days = md_chantiers_active(os.path.join(raw, BATCH_CHANTIERS), dates)
    tr_days = md_traffic_active(raw, traffic[SRC_PRIM_DISRUPTIONS], dates)
    v_days = md_analyse_velib(raw, dates)
    by_day = {}
    for d in dates:
        ds = d.isoformat()
        wdoc = json.load(open(os.path.join(raw, weather_rel(d)), encoding="utf-8"))
        w = [x for x in wdoc["days"] if x["datetime"] == ds][0]
        by_day[ds] = {
            "comptages": c_days[ds],
            "bikes": b_days[ds],
            "chantiers_active": ch_days[ds],
            "traffic_active_disruptions": tr_days[ds],
            "weather": {k: w[k] for k in WEATHER_FACTS},
            "velib": v_days[ds],
        }
        # the read-back must find what was designed
        cd = design["comptages"]["by_day"][ds]
        assert sorted(c_days[ds]["congested_arcs"]) == sorted(cd["congested_arcs"]), (ds, c_days[ds]["congested_arcs"])
        assert cd["arc_without_rows_8h"] in c_days[ds]["arcs_more_than_6_hours_without_row"], ds
        assert c_days[ds]["congested_arcs_count"] >= 2
        assert b_days[ds]["failing_counters"] == design["bikes"]["by_day"][ds]["failing_counters"], (ds, b_days[ds])
        assert v_days[ds]["snapshots"] == len(MD_VELIB_TIMES)
    assert c_facts["malformed_rows"] == n_days
    assert sorted(c_facts["valid_rows_by_paris_day"]) == [d.isoformat() for d in dates]

    exp = {
        "start": dates[0].isoformat(), "days": n_days, "dates": [d.isoformat() for d in dates],
        "timezone": "Europe/Paris",
        "options": {"arcs": n_arcs, "velib_stations": n_velib},
        "rules": {
            "comptages": "a row stamped T counts the hour ending at T (day D = stamps D T01:00 ... D+1 T00:00 local); "
                         "valid rows: 15 fields, ISO date with offset, Débit and Taux empty or numeric; "
                         "debit_total = sum of the non-empty Débit of the day's valid rows; a congested arc has "
                         "Taux >= 80 for >= 2 consecutive hours of D (Critique when one of them >= 90)",
            "bikes": "a record stamped T counts the hour ending at T; a counter fails on D when all its counts "
                     "are 0, or >= 12 consecutive hours have the same non-zero count, or more than 6 hours of D "
                     "(23/24/25) have no record; total_non_failing = sum over the other counters",
            "chantiers": "distinct Identifiant with valid dates, start <= end, start <= D <= end",
            "traffic": "a disruption is active when one applicationPeriod (Paris local time) overlaps D 00:00:00..23:59:59",
            "weather": "the Visual Crossing day entry of D in the file of D's folder",
            "velib": "station_status files of D's folders",
        },
        "comptages": c_facts,
        "by_day": by_day,
        "design": design,
    }
    write_expected_json(os.path.join(out, "expected.json"), exp)
    apparent, disk = tree_bytes(raw)
    if disk >= MD_MAX_TREE_BYTES:
        print("warning: raw tree is %d bytes on disk, over the %d target" % (disk, MD_MAX_TREE_BYTES), file=sys.stderr)
    print("%s: %d days from %s, raw tree %d bytes, %d on disk (the traffic and station_information files of"
          " days 2..%d are hard links to day 1's)" % (out, n_days, dates[0].isoformat(), apparent, disk, n_days))
    return 0


# --------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "sample"), help="output directory (default data/sample)")
    ap.add_argument("--start", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                    help="build a multi-day tree (OUT/raw, OUT/expected.json) starting on this Paris day")
    ap.add_argument("--days", type=int, default=8, help="multi-day: number of consecutive days (default 8)")
    ap.add_argument("--arcs", type=int, default=150, help="multi-day: arcs in the comptages file (default 150)")
    ap.add_argument("--velib-stations", type=int, default=200,
                    help="multi-day: Vélib' stations kept in the GBFS files (default 200)")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)
    if args.start is not None:
        return build_multi_day(out, args.start, args.days, args.arcs, args.velib_stations)
    if any(a.split("=")[0] in ("--days", "--arcs", "--velib-stations") for a in (argv if argv is not None else sys.argv[1:])):
        ap.error("--days, --arcs and --velib-stations need --start")
    raw = start_raw_tree(out)
    ref_arcs, ref_ids, _ = load_referentiel()
    traffic = place_traffic(raw, [DAY])
    rel_d, rel_l = traffic[SRC_PRIM_DISRUPTIONS], traffic[SRC_PRIM_LINES]

    comptages_path = os.path.join(raw, BATCH_COMPTAGES)
    design = {"comptages": build_comptages(comptages_path, ref_arcs, ref_ids)}
    design["bikes"] = build_bikes(raw)
    weather_rel = build_weather(raw)
    design["velib"] = build_velib(raw)

    # ---- independent read-back
    c_facts, per_arc = analyse_comptages(comptages_path, ref_arcs)
    cdes = design["comptages"]
    sp = cdes["special"]
    show = sorted({v["arc"] for v in cdes["congestion"].values()} | set(sp.values()) | {4264})
    c_facts["per_arc_sample"] = {str(a): per_arc[a] for a in show if a in per_arc}
    exp = {
        "date": DAY_S,
        "timezone": "Europe/Paris",
        "comptages": c_facts,
        "referentiel": analyse_referentiel(os.path.join(raw, BATCH_REFERENTIEL)),
        "chantiers": analyse_chantiers(os.path.join(raw, BATCH_CHANTIERS)),
        "traffic": analyse_traffic(raw, rel_d, rel_l),
        "bikes": analyse_bikes(raw),
        "weather": analyse_weather(raw, weather_rel),
        "velib": analyse_velib(raw, design["velib"]["files"]),
        "design": design,
    }

    # ---- the read-back must find exactly what was designed
    cd = c_facts["day"]
    want_cong = sorted(v["arc"] for v in cdes["congestion"].values() if v["severite"])
    assert sorted(int(a) for a in cd["congestion_alerts"]) == want_cong, cd["congestion_alerts"].keys()
    for v in cdes["congestion"].values():
        if v["severite"]:
            sev = {al["severite"] for al in cd["congestion_alerts"][str(v["arc"])]["alerts"]}
            assert ("Critique" in sev) == (v["severite"] == "Critique"), v
    assert cd["arcs_more_than_6_hours_without_row"] == sorted([sp["F1_gap8"], sp["F2_stops"]])
    assert cd["arcs_same_nonzero_debit_12h_or_more"] == [sp["K1_const14"]]
    assert c_facts["malformed_rows"] == 5 and cd["arcs"] == cdes["arcs"]
    assert cd["arcs_not_in_referentiel"] == 0
    bd = exp["bikes"]["day"]
    assert len(exp["bikes"]["duplicates"]) == 1 and exp["bikes"]["duplicates"][0]["identical"]
    assert bd["all_zero_counters"] == [design["bikes"]["all_zero_counter"]]
    assert bd["counters_more_than_6_hours_missing"] == [design["bikes"]["gap_counter"]]
    assert len(bd["records_without_coordinates"]) == 1
    wd = exp["weather"]
    assert wd["day"]["categories_by_spec_thresholds_on_daily_values"] == ["Froid"]
    assert wd["2025-02-03"]["precip"] >= 5 and wd["2025-02-05"]["windspeed"] >= 30

    write_expected_json(os.path.join(out, "expected.json"), exp)
    write_expected_md(os.path.join(out, "EXPECTED.md"), exp, design)
    write_provenance_md(os.path.join(out, "PROVENANCE.md"), out, design)

    total = tree_bytes(out)[0]
    if total >= MAX_TREE_BYTES:
        raise SystemExit("sample tree is %d bytes, over the %d budget" % (total, MAX_TREE_BYTES))
    print("data/sample: %d bytes" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
