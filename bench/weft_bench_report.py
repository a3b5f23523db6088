#!/usr/bin/env python3
"""Writes docs/BENCHMARKS.md from weft_bench's JSON output (ci/bench.sh).

    weft_bench_report.py --json results.json --profiles DIR --out BENCHMARKS.md
                         [--command CMD]... [--load-before L] [--load-after L] [--quick]

Reads the Google Benchmark JSON (medians when there are repetitions), the
callgrind summaries in DIR (weft_bench_callgrind.py output, one
<what-with-underscores>.json per profile), and the machine (lscpu, uname,
the compiler of build/bench). Writes tables of throughput, ratios against
every baseline and the ceiling, latency percentiles, the issue's targets
(met or missed, with the figures) and "Where we miss and why".

Exit status 1 (after writing) when a benchmark reported a status it should
never see: error_occurred, other_errors or snapshot_errors. Never on a time.
Standard library only.
"""
import argparse
import datetime
import glob
import json
import os
import re
import subprocess
import sys

PAYLOADS = ("32B", "256B", "4096B")
# Instructions per operation in the first run of this suite (docs/BENCHMARKS.md
# of commit ca42024), before this round's changes; quoted as "was".
PERF_ONE = "perf record build/bench/bench/weft_bench --profile=exchange/weft/32 --profile_ops=3000000"
PERF_TWO = ("perf record build/bench/bench/weft_bench "
            "--benchmark_filter='append/weft/32B/turns:2/real_time/threads:2$' --benchmark_min_time=1")
BEFORE = {"exchange_weft_32": 3210, "exchange_weft_4096": 13919, "begin_exchange": 885,
          "lock_weft_large_exclusive": 2844}
THREADS = (1, 2, 4, 8)
APPEND_IMPLS = ("weft", "weft_coarseclock", "weft_manualclock", "weft_ring256m", "weft_separate_logs",
                "weft_lanes", "weft_lanes_coarseclock", "seed_mutex", "seed_shared_mutex", "moodycamel",
                "boost_lockfree", "ceiling_faa", "ceiling_faa_memcpy")
APPEND_BASELINES = ("seed_mutex", "seed_shared_mutex", "moodycamel", "boost_lockfree",
                    "ceiling_faa", "ceiling_faa_memcpy")
LOCK_IMPLS = ("weft", "weft_coarseclock", "weft_manualclock", "mutex_map", "tbb_chm", "libcuckoo", "ceiling_cas")
LOCK_EXCLUSIVE_ONLY = ("weft_coarseclock", "weft_manualclock")  # weft_bench.cpp lock_impls
LOCK_BASELINES = ("mutex_map", "tbb_chm", "libcuckoo", "ceiling_cas")
SPACES = ("small", "large")
MODES = ("exclusive", "shared")
SNAPSHOT_IMPLS = ("weft", "seed_mutex", "seed_shared_mutex")
WRITERS = (1, 3, 7)
# The profiles ci/bench.sh takes (file name: the path with '/' -> '_').
PROFILES = ("exchange/weft/32", "exchange/weft_coarseclock/32", "exchange/weft_manualclock/32", "exchange/seed_mutex/32", "exchange/moodycamel/32",
            "exchange/ceiling_faa_memcpy/32", "exchange/weft/4096", "exchange/seed_mutex/4096",
            "exchange/ceiling_faa_memcpy/4096", "lock/weft/large/exclusive", "lock/mutex_map/large/exclusive",
            "lock/tbb_chm/large/exclusive", "lock/libcuckoo/large/exclusive")
# TurnLog geometry of the suite (weft_bench.cpp WeftStore::config, and
# lib/src/turn_log.cpp:187 for the records per segment).
SEGMENT_BYTES = 256 * 1024
SEGMENT_COUNT = 64
RECORDS_PER_SEGMENT = (SEGMENT_BYTES - 64) // 256
PAYLOAD_AREA = SEGMENT_BYTES - 64 - RECORDS_PER_SEGMENT * 64

DESCRIPTIONS = {
    "weft": "weft TurnLog / LockTable, steady_clock (the production default)",
    "weft_coarseclock": "the same with coarse_clock() (CLOCK_MONOTONIC_COARSE: the kernel's tick, weft/clock.h)",
    "weft_ring256m": "weft with a ring of 1024 segments (256 MiB) instead of 64 (16 MiB): retention under preemption",
    "weft_separate_logs": "every writer thread its own TurnLog (nothing of the append path shared): "
                          "what the shared append point costs; not a way to use weft",
    "weft_lanes": "weft with Config::append_lanes = 8: each writer thread appends to segments of its own",
    "weft_lanes_coarseclock": "weft_lanes with coarse_clock()",
    "weft_manualclock": "the same with a ManualClock that never moves (what reading the clock costs)",
    "seed_mutex": "std::mutex + unordered_map<thread id, vector<turn>>, payload copied into a std::string",
    "seed_shared_mutex": "the same with std::shared_mutex (snapshots take it shared)",
    "moodycamel": "moodycamel::ConcurrentQueue: payload copied to the writer's arena, 48-byte record enqueued",
    "boost_lockfree": "boost::lockfree::queue: the same record",
    "ceiling_faa": "ceiling: one contended fetch_add per turn on one shared counter",
    "ceiling_faa_memcpy": "ceiling: that fetch_add reserves bytes of a shared 16 MiB ring, payload memcpy'd there",
    "mutex_map": "std::mutex + unordered_map<key, holder>: insert-if-absent / erase",
    "tbb_chm": "tbb::concurrent_hash_map: insert(value) / erase(key); shared: accessor around a count",
    "libcuckoo": "libcuckoo::cuckoohash_map: insert / erase; shared: uprase_fn / erase_fn",
    "ceiling_cas": "ceiling: one padded atomic word per slot of a 4096-slot table, CAS / store",
}


# ---- loading -------------------------------------------------------------------------

class Results:
    """The benchmarks of one run: median figures keyed by (name parts, threads)."""

    def __init__(self, path):
        with open(path) as f:
            data = json.load(f)
        self.context = data.get("context", {})
        self.rows = {}
        self.problems = []
        self.repetitions = 1
        medians = {}
        runs = {}
        for b in data.get("benchmarks", []):
            run_name = b.get("run_name", b["name"])
            if b.get("error_occurred"):
                self.problems.append(f"{b['name']}: {b.get('error_message', 'error')}")
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    medians[run_name] = b
                continue
            runs.setdefault(run_name, []).append(b)
            for counter in ("other_errors", "snapshot_errors"):
                if b.get(counter, 0):
                    self.problems.append(f"{b['name']}: {counter} = {b[counter]:.0f}")
        for run_name, reps in runs.items():
            self.repetitions = max(self.repetitions, len(reps))
            row = medians.get(run_name, reps[len(reps) // 2])
            if row is not reps[len(reps) // 2]:
                # An aggregate's "iterations" counts repetitions: keep a run's
                # (every thread's iterations: the attempts a share divides by).
                row = dict(row)
                row["iterations"] = reps[len(reps) // 2].get("iterations", 0)
            parts = tuple(p for p in run_name.split("/") if p != "real_time" and not p.startswith("threads:"))
            self.rows[(parts, int(row.get("threads", 1)))] = row

    def get(self, parts, threads):
        return self.rows.get((tuple(parts), threads))

    def value(self, parts, threads, field="items_per_second"):
        row = self.get(parts, threads)
        if row is None or field not in row:
            return None
        return float(row[field])


def load_profiles(directory):
    profiles = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        try:
            with open(path) as f:
                profiles[os.path.basename(path)[:-5]] = json.load(f)
        except (OSError, ValueError):
            continue
    return profiles


def run(command):
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine():
    lscpu = run(["lscpu"])
    fields = {}
    for row in lscpu.split("\n"):
        if ":" in row:
            key, value = row.split(":", 1)
            fields[key.strip()] = value.strip()
    compiler = "g++"
    cache = os.path.join("build", "bench", "CMakeCache.txt")
    if os.path.exists(cache):
        with open(cache) as f:
            m = re.search(r"^CMAKE_CXX_COMPILER:\w+=(.*)$", f.read(), re.M)
            if m:
                compiler = m.group(1)
    packages = {}
    for package in ("libbenchmark-dev", "libconcurrentqueue-dev", "libboost-dev", "libtbb-dev", "libcuckoo-dev"):
        packages[package] = run(["dpkg-query", "-W", "-f=${Version}", package]) or "?"
    return {
        "cpu": fields.get("Model name", "?"),
        "cpus": fields.get("CPU(s)", "?"),
        "threads_per_core": fields.get("Thread(s) per core", "?"),
        "cores_per_socket": fields.get("Core(s) per socket", "?"),
        "hypervisor": fields.get("Hypervisor vendor", "none"),
        "caches": ", ".join(f"{k} {fields[k]}" for k in ("L1d cache", "L2 cache", "L3 cache") if k in fields),
        "kernel": run(["uname", "-r"]) or "?",
        "compiler": (run([compiler, "--version"]).split("\n") or ["?"])[0],
        "packages": packages,
    }


# ---- formatting ----------------------------------------------------------------------

def rate(x):
    if x is None:
        return "n/a"
    if x >= 1e9:
        return f"{x / 1e9:.2f} G"
    if x >= 1e6:
        return f"{x / 1e6:.3g} M"
    return f"{x / 1e3:.3g} k"


def ns(x):
    if x is None:
        return "n/a"
    if x < 1e3:
        return f"{x:.0f} ns"
    if x < 1e6:
        return f"{x / 1e3:.3g} µs"
    return f"{x / 1e6:.3g} ms"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def times(x):
    return "n/a" if x is None else (f"{x:.2f}×" if x < 10 else f"{x:.1f}×")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def triple(r, parts, threads, series):
    p = [r.value(parts, threads, f"{series}_{q}_ns") for q in ("p50", "p99", "p999")]
    if any(v is None for v in p):
        return "n/a"
    return " / ".join(ns(v) for v in p)


# ---- targets ---------------------------------------------------------------------------

def evaluate_targets(r):
    """[(id, text, measured, met)] for the issue's targets."""
    targets = []

    def per_payload(threads, need, label):
        cells, ok = [], True
        for p in PAYLOADS:
            x = ratio(r.value(("append", "weft", p, "turns:2"), threads),
                      r.value(("append", "seed_mutex", p, "turns:2"), threads))
            xc = ratio(r.value(("append", "weft_coarseclock", p, "turns:2"), threads),
                       r.value(("append", "seed_mutex", p, "turns:2"), threads))
            xl = ratio(r.value(("append", "weft_lanes", p, "turns:2"), threads),
                       r.value(("append", "seed_mutex", p, "turns:2"), threads))
            xlc = ratio(r.value(("append", "weft_lanes_coarseclock", p, "turns:2"), threads),
                        r.value(("append", "seed_mutex", p, "turns:2"), threads))
            cells.append(f"{p}: {times(x)} (coarse clock: {times(xc)}; 8 lanes: {times(xl)}; "
                         f"8 lanes, coarse clock: {times(xlc)})")
            ok = ok and x is not None and x >= need
        targets.append((label, f"append throughput ≥ {need}× seed_mutex at {threads} threads",
                        ", ".join(cells), ok))

    per_payload(2, 3, "T1")
    per_payload(8, 5, "T2")
    cells, ok = [], True
    for p in PAYLOADS:
        a = r.value(("append", "weft", p, "turns:2"), 8, "append_p999_ns")
        b = r.value(("append", "seed_mutex", p, "turns:2"), 8, "append_p999_ns")
        x = ratio(a, b)
        al = r.value(("append", "weft_lanes", p, "turns:2"), 8, "append_p999_ns")
        cells.append(f"{p}: {ns(a)} vs {ns(b)} ({times(x)}; 8 lanes: {ns(al)}, {times(ratio(al, b))})")
        ok = ok and x is not None and x <= 0.1
    targets.append(("T3", "p99.9 append latency at 8 threads ≤ 1/10 of seed_mutex's", ", ".join(cells), ok))
    cells, ok = [], True
    for t in THREADS:
        x = ratio(r.value(("append", "weft", "32B", "turns:2"), t), r.value(("append", "ceiling_faa", "32B", "turns:2"), t))
        y = ratio(r.value(("append", "weft", "32B", "turns:8"), t), r.value(("append", "ceiling_faa", "32B", "turns:8"), t))
        cells.append(f"{t} thr: {times(x)} (8 turns/exchange: {times(y)})")
        ok = ok and x is not None and x >= 0.5
    targets.append(("T4", "32 B appends ≥ ½ the bare fetch_add ceiling (turns/s)", "; ".join(cells), ok))
    for label, baseline, need in (("T5", "mutex_map", 3.0), ("T6", "tbb_chm", 1.5)):
        values = []
        for s in SPACES:
            for m in MODES:
                for t in THREADS:
                    x = ratio(r.value(("lock", "weft", s, m), t), r.value(("lock", baseline, s, m), t))
                    if x is not None:
                        values.append((x, f"{s}/{m}/{t} thr"))
        met = sum(1 for x, _ in values if x >= need)
        if values:
            lo, hi = min(values), max(values)
            measured = f"{met} of {len(values)} configurations; from {times(lo[0])} ({lo[1]}) to {times(hi[0])} ({hi[1]})"
        else:
            measured = "n/a"
        targets.append((label, f"LockTable acquire+release ≥ {need}× {baseline}", measured,
                        bool(values) and met == len(values)))
    return targets


# ---- sections ---------------------------------------------------------------------------

def section_append(r):
    out = ["## TurnLog append", "",
           "One iteration is one exchange: `begin_exchange`, a user and an assistant turn of P bytes, "
           "`commit` (baselines: the same turns and bytes). Each thread owns 16 conversations, round robin. "
           "Throughput in turns per second (all threads together); 8 threads on this machine is "
           "oversubscription.", ""]
    for p in PAYLOADS:
        out += [f"### {p} turns", "", "Throughput (turns/s):", ""]
        rows = [[f"`{i}`"] + [rate(r.value(("append", i, p, "turns:2"), t)) for t in THREADS] for i in APPEND_IMPLS]
        out += [table(["implementation"] + [f"{t} thr" for t in THREADS], rows), ""]
        out += ["weft ÷ baseline (above 1: weft is faster; against a ceiling: the fraction of it weft reaches):", ""]
        rows = []
        for b in APPEND_BASELINES:
            rows.append([f"weft ÷ `{b}`"] + [times(ratio(r.value(("append", "weft", p, "turns:2"), t),
                                                           r.value(("append", b, p, "turns:2"), t))) for t in THREADS])
        out += [table(["ratio"] + [f"{t} thr" for t in THREADS], rows), ""]
        out += ["Latency of one append call, p50 / p99 / p99.9:", ""]
        rows = [[f"`{i}`"] + [triple(r, ("append", i, p, "turns:2"), t, "append") for t in THREADS] for i in APPEND_IMPLS]
        out += [table(["implementation"] + [f"{t} thr" for t in THREADS], rows), ""]
        out += ["Latency of one whole exchange (begin, two turns, commit), p50 / p99 / p99.9:", ""]
        rows = [[f"`{i}`"] + [triple(r, ("append", i, p, "turns:2"), t, "exchange") for t in THREADS] for i in APPEND_IMPLS]
        out += [table(["implementation"] + [f"{t} thr" for t in THREADS], rows), ""]
    out += ["### 8 turns per exchange (32 B)", "",
            "The most turns one exchange takes (`TurnLog::turns_per_exchange_max`): begin and commit "
            "amortised over 8 appends.", ""]
    rows = [[f"`{i}`"] + [rate(r.value(("append", i, "32B", "turns:8"), t)) for t in THREADS]
            for i in ("weft", "seed_mutex", "ceiling_faa")]
    rows.append(["weft ÷ `seed_mutex`"] + [times(ratio(r.value(("append", "weft", "32B", "turns:8"), t),
                                                        r.value(("append", "seed_mutex", "32B", "turns:8"), t))) for t in THREADS])
    rows.append(["weft ÷ `ceiling_faa`"] + [times(ratio(r.value(("append", "weft", "32B", "turns:8"), t),
                                                         r.value(("append", "ceiling_faa", "32B", "turns:8"), t))) for t in THREADS])
    out += [table(["turns/s"] + [f"{t} thr" for t in THREADS], rows), ""]
    return out


def section_outcomes(r):
    rows = []
    for (parts, threads), row in sorted(r.rows.items()):
        if parts[0] not in ("append", "snapshot"):
            continue
        counts = {k: row.get(k, 0) for k in ("exchanges_failed", "log_full", "contended", "too_many_in_flight")}
        if any(counts.values()):
            rows.append([f"`{'/'.join(parts)}` {threads} thr"] + [f"{counts[k]:.0f}" for k in counts] +
                        [f"{row.get('iterations', 0):.0f}"])
    out = ["### Exchanges that did not complete", "",
           "Counted, never retried silently: the exchange is aborted and the writer moves on (after a yield). "
           "Its turns are not in the throughput. Figures are per run (the median repetition).", ""]
    if rows:
        out += [table(["benchmark", "failed", "log_full", "contended", "too_many_in_flight", "iterations"], rows), ""]
    else:
        out += ["None in this run.", ""]
    return out


def section_snapshot(r):
    out = ["## Snapshots concurrent with appends (256 B turns)", "",
           "Writers as above, plus one reader thread taking snapshots of random writer conversations back "
           "to back. weft's snapshot is pinned and copies nothing; the seeds' design copies the committed "
           "turns under its lock (shared for `seed_shared_mutex`). Threads = writers + 1.", ""]
    rows = []
    for w in WRITERS:
        for i in SNAPSHOT_IMPLS:
            parts = ("snapshot", i, "256B")
            if r.get(parts, w) is None:
                continue
            rows.append([f"`{i}`", w + 1, rate(r.value(parts, w)), f"{r.value(parts, w, 'log_full') or 0:.0f}",
                         triple(r, parts, w, "append"), rate(r.value(parts, w, "snapshots")),
                         f"{r.value(parts, w, 'snapshot_turns_avg') or 0:.0f}", triple(r, parts, w, "snapshot")])
    out += [table(["implementation", "threads", "writers' turns/s", "log_full", "append p50 / p99 / p99.9",
                   "snapshots/s", "turns per snapshot", "snapshot p50 / p99 / p99.9"], rows), ""]
    alone = r.value(("append", "weft", "256B", "turns:2"), 1)
    with_reader = r.value(("snapshot", "weft", "256B"), 1)
    if alone and with_reader:
        out += [f"For scale: one weft writer alone appends {rate(alone)} turns/s of 256 B; "
                f"with one reader snapshotting it appends {rate(with_reader)} "
                f"({times(with_reader / alone)}). See \"Where we miss and why\".", ""]
    return out


def section_lock(r):
    out = ["## LockTable acquire + release", "",
           "One iteration: try-acquire a random key and, when acquired, release it. A key held by someone "
           "else is `busy` and the thread moves on (never waits). Throughput counts completed "
           "acquire+release pairs; `busy` is the share of attempts that found the key held. Small key "
           "space: 8 keys (contended); large: 2^20 keys. weft's table has 4096 slots, probe window 32, "
           "lease 30 s.", ""]
    for s in SPACES:
        for m in MODES:
            out += [f"### {s} key space, {m}", ""]
            impls = [i for i in LOCK_IMPLS if r.get(("lock", i, s, m), 1) is not None]
            rows = [[f"`{i}`"] + [rate(r.value(("lock", i, s, m), t)) for t in THREADS] for i in impls]
            out += [table(["pairs/s"] + [f"{t} thr" for t in THREADS], rows), ""]
            rows = [[f"weft ÷ `{b}`"] + [times(ratio(r.value(("lock", "weft", s, m), t), r.value(("lock", b, s, m), t)))
                                          for t in THREADS] for b in LOCK_BASELINES]
            out += [table(["ratio"] + [f"{t} thr" for t in THREADS], rows), ""]
            rows = []
            for i in impls:
                cells = []
                for t in THREADS:
                    row = r.get(("lock", i, s, m), t)
                    share = (row.get("busy", 0) / row["iterations"]) if row and row.get("iterations") else None
                    cells.append(f"{triple(r, ('lock', i, s, m), t, 'lock')} ({'n/a' if share is None else f'{100 * share:.0f}%'} busy)")
                rows.append([f"`{i}`"] + cells)
            out += ["Latency of one operation p50 / p99 / p99.9 (busy share):", "",
                    table(["implementation"] + [f"{t} thr" for t in THREADS], rows), ""]
    return out


def prof(profiles, name, field, key=None):
    p = profiles.get(name)
    if p is None:
        return None
    value = p.get(field)
    if key is not None:
        value = (value or {}).get(key)
    return value


def section_profile(profiles):
    out = ["## Single-thread profile (callgrind)", ""]
    if not profiles:
        return out + ["No profiles in this run (quick mode, or valgrind/objdump missing).", ""]
    out += ["Instructions and atomic read-modify-writes per operation, one thread, from "
            "`valgrind --tool=callgrind` (repeatable: they do not depend on machine noise). "
            "\"atomic RMW\" counts executed x86 instructions with a `lock` prefix plus `xchg` with memory "
            "(each seq_cst store is one). A second, idle thread exists so glibc's locks use their atomic "
            "path, as in any server. One operation = one exchange (begin, 2 turns, commit) or one "
            "acquire+release.", ""]
    rows = []
    names = {what.replace("/", "_"): what for what in PROFILES}
    for name in sorted(profiles, key=lambda k: (list(names).index(k) if k in names else len(names), k)):
        d = profiles[name]
        inc, calls = d.get("inclusive_per_op", {}), d.get("calls_per_op", {})
        detail = []
        for key in ("TurnLog::begin_exchange", "TurnLog::append", "TurnLog::commit", "checksum_of",
                    "steady_clock::now", "LogEngine::open_next", "LockTable::try_acquire", "LockTable::release",
                    "malloc", "pthread_mutex_lock"):
            if key in inc and inc[key] >= 1:
                detail.append(f"{key.split('::')[-1]} {inc[key]:.0f} ({calls.get(key, 0):.3g} calls)")
        rows.append([f"`{names.get(name, name)}`", f"{d['ir_per_op']:.0f}", f"{d['locked_per_op']:.1f}", "; ".join(detail)])
    out += [table(["profile", "instructions/op", "atomic RMW/op", "inclusive instructions per op (calls per op)"], rows), ""]
    return out


def records_for(payload_bytes):
    by_bytes = PAYLOAD_AREA // ((payload_bytes + 7) // 8 * 8)
    return min(RECORDS_PER_SEGMENT, by_bytes)


def scaling(r, impl, payload, threads):
    return ratio(r.value(("append", impl, payload, "turns:2"), threads), r.value(("append", impl, payload, "turns:2"), 1))


class Source:
    """Line numbers of code the analysis cites, found by anchor text in the
    current sources (the library changes; the citations follow it)."""

    def __init__(self, root):
        self.root = root
        self.files = {}
        self.missing = []

    def lines(self, name):
        if name not in self.files:
            try:
                with open(os.path.join(self.root, "lib", "src", name)) as f:
                    self.files[name] = f.read().split("\n")
            except OSError:
                self.files[name] = []
        return self.files[name]

    def find(self, name, anchor, after=None, nth=1):
        """1-based line of the nth line containing `anchor` (after the line
        containing `after`, if given), or None."""
        rows = self.lines(name)
        start = 0
        if after is not None:
            start = next((i + 1 for i, row in enumerate(rows) if after in row), None)
            if start is None:
                return None
        seen = 0
        for i in range(start, len(rows)):
            if anchor in rows[i]:
                seen += 1
                if seen == nth:
                    return i + 1
        return None

    def at(self, name, anchor, after=None, nth=1, end=None, full=False):
        """"`:123`" (or "`:123-140`" up to the first line that is exactly `end`), with the
        file name when `full`; "`name` (moved: ...)" when not found."""
        line = self.find(name, anchor, after, nth)
        if line is None:
            self.missing.append(f"{name}: {anchor}")
            return f"`{name}` (line not found: `{anchor[:40]}`)"
        text = str(line)
        if end is not None:
            last = next((i + 1 for i, row in enumerate(self.lines(name)) if i + 1 > line and row.rstrip() == end), None)
            if last is not None:
                text += f"-{last}"
        return f"`{'lib/src/' + name if full else ''}:{text}`"


def section_misses(r, profiles, targets, src):
    missed = [t for t in targets if not t[3]]
    out = ["## Where we miss and why", ""]
    if not missed:
        return out + ["Every target is met in this run.", ""]
    out += ["Missed in this run: " + ", ".join(f"{t[0]} ({t[1]})" for t in missed) + ". The first run of "
            "this suite (commit ca42024) profiled the causes below; this round changed the library where "
            "the profile pointed, and each cause says what was done, what it measured and what remains "
            "(file:line looked up in the current sources when this report was written). Instruction and "
            "atomic counts come from the callgrind profile above; throughput and latency from this run.", ""]

    def n(x, fmt="{:.0f}"):
        return "n/a" if x is None else fmt.format(x)

    T, L = "turn_log.cpp", "lock_table.cpp"
    w32, s32 = prof(profiles, "exchange_weft_32", "ir_per_op"), prof(profiles, "exchange_seed_mutex_32", "ir_per_op")
    c32 = prof(profiles, "exchange_ceiling_faa_memcpy_32", "ir_per_op")
    w4k = prof(profiles, "exchange_weft_4096", "ir_per_op")
    inc = lambda key, name="exchange_weft_32": prof(profiles, name, "inclusive_per_op", key)  # noqa: E731
    share_4k = ratio(inc("checksum_of", "exchange_weft_4096"), w4k)
    if not profiles:
        out += ["(No callgrind profile in this run: the instruction figures below read n/a; "
                "`bash ci/bench.sh` without `--quick` fills them in.)", ""]
    manual_gain = ratio(r.value(("append", "weft_manualclock", "32B", "turns:2"), 1), r.value(("append", "weft", "32B", "turns:2"), 1))
    coarse_gain = ratio(r.value(("append", "weft_coarseclock", "32B", "turns:2"), 1), r.value(("append", "weft", "32B", "turns:2"), 1))
    begin = "BeginResult TurnLog::begin_exchange("
    out += [f"### 1. An exchange costs {times(ratio(w32, s32))} the instructions of the mutex design (T1, T2, T4)", "",
            f"One thread, 32 B: weft executes {n(w32)} instructions per exchange (the first run: "
            f"{BEFORE['exchange_weft_32']}), the seeds' design {n(s32)} (including its mallocs and string "
            f"copies), the ceiling {n(c32)}. `begin_exchange` alone is {n(inc('TurnLog::begin_exchange'))} "
            f"(was {BEFORE['begin_exchange']}), the two appends {n(inc('TurnLog::append'))}, `commit` "
            f"{n(inc('TurnLog::commit'))}. 4 KiB: {n(w4k)} (was {BEFORE['exchange_weft_4096']}).", "",
            "Changed in this round:", "",
            f"- **The record checksum** (`checksum_of` {src.at(T, 'u64 checksum_of(const RecordHeader& r', full=True)}): "
            f"MurmurHash3 was 71% of a 4 KiB exchange's instructions. It is now `scan::checksum_bytes` "
            f"(weft/scan.h): four 64-bit lanes over 32-byte stripes, the Highway kernel from 128 bytes "
            f"(the scalar twin below, and under ThreadSanitizer), also what recovery verifies with. It is "
            f"{n(inc('checksum_of', 'exchange_weft_4096'))} of the {n(w4k)} instructions of a 4 KiB "
            f"exchange ({n(share_4k, '{:.0%}')}; callgrind runs the AVX2 code) and 47 GB/s on AVX3 against "
            f"MurmurHash3's 7.5 GB/s (\"Scan kernels\" below).",
            f"- **The dedup scan on every begin** "
            f"({src.at(T, 'for (u64 step = 0; step < e.g.window; step++) {  // bound: W slots', full=True)}) read all W = 16 "
            f"exchange slots of the thread (16 cache lines); the profile showed its state loads as the "
            f"hottest instructions of `begin_exchange`. Each thread slot now keeps a 16-bit fingerprint "
            f"of the request of each exchange slot ({src.at(T, 'weft::atomic<W> request_prints[')}, "
            f"written by the claim's winner before it publishes the exchange), and a begin reads only the "
            f"slot at next_ticket and the slots whose fingerprint matches. The fingerprints are compared "
            f"a word at a time ({src.at(T, 'constexpr u64 print_matches(W word, u64 print) {')}, SWAR: "
            f"four per 64-bit word): the first version tested each of the W + 1 tickets in turn, about "
            f"250 instructions per begin.",
            f"- **Per-call set-up**: every call built a `LogEngine` that reloaded the geometry from the "
            f"header and placed every part of the region again (about 160 instructions per exchange). A "
            f"handle now keeps the geometry it validated when it attached ({src.at(T, 'explicit LogEngine(TurnLog& log)')}; "
            f"`detail::LogGeometry` in weft/turn_log.h), so a header changed later moves no offset either.",
            f"- **Homes by multiply**: thread and key homes were `id_mix64 % capacity`, a 64-bit division "
            f"per lookup; they are the high half of `id_mix64 x capacity` now (`id_slot`, weft/id.h), the "
            f"probe wraps by a compare ({src.at(T, 'const u64 home = id_slot(id, g.thread_capacity);')}), "
            f"and a TurnWriter keeps its thread slot, so `finish` looks nothing up.",
            "",
            "What remains:", "",
            f"- **Clock reads**: {n(prof(profiles, 'exchange_weft_32', 'calls_per_op', 'steady_clock::now'))} "
            f"calls of `steady_clock::now` per exchange ({src.at(T, 'const u64 now = clock_.now();', after=begin)} "
            f"in begin, {src.at(T, 'const u64 now = clock_.now();', after='LogStatus TurnLog::begin_turn(')} in each "
            f"`begin_turn`, {src.at(T, 'const u64 now = clock_.now();', after='LogStatus TurnLog::commit(')} in "
            f"commit). Few instructions, but `perf record` of one thread puts 23-25% of its cycles in "
            f"`__vdso_clock_gettime` (KVM's clock; `{PERF_ONE}`, when this analysis was written). With a ManualClock the same run is {times(manual_gain)} "
            f"as fast at 1 thread (`weft_manualclock`). Each read is one the contracts need: the begin starts "
            f"the exchange's expiry clock, each turn is progress that defers it (T10), the commit checks it; "
            f"a service whose timeouts are seconds can inject a coarser clock: `coarse_clock()` (weft/clock.h, "
            f"added in this round) reads the kernel's tick (CLOCK_MONOTONIC_COARSE, a few ns), and with it "
            f"the same run is {times(coarse_gain)} as fast at 1 thread (`weft_coarseclock`); every table shows it.",
            f"- **Per-call look-up**: each call looks the conversation up once (`open_exchange` "
            f"{src.at(T, 'if (!e.find_thread(ref.thread, false, ti, full))')}).",
            f"- **Retention** (`try_recycle`, cause 3): with 32 B turns a segment turns over every 1023 records "
            f"and the recycler walks them all ({n(inc('LogEngine::try_recycle', 'exchange_weft_32'))} instructions "
            f"per exchange; it was 267 before its thread cache grew from 16 direct-mapped entries, which "
            f"collided for the bench's 16 conversations, to 32 with open addressing).", ""]
    wl, sl = prof(profiles, "exchange_weft_32", "locked_per_op"), prof(profiles, "exchange_seed_mutex_32", "locked_per_op")
    rows = [[f"`{impl}`"] + [times(scaling(r, impl, "32B", t)) for t in (2, 4, 8)]
            for impl in ("weft", "weft_lanes", "weft_separate_logs", "seed_mutex", "moodycamel", "ceiling_faa")]
    fin = "LogStatus TurnWriter::finish()"
    out += ["### 2. Atomic read-modify-writes on lines every writer shares (T1, T2, T4)", "",
            f"weft executes {n(wl, '{:.1f}')} atomic RMWs per exchange (the first run: 25.5), the seeds' design "
            f"{n(sl, '{:.1f}')} (8 of them the lock and unlock of its one mutex, any rest in malloc), the "
            f"ceiling 2.", "",
            f"Changed in this round: the statistics counters that every append and commit bumped on one "
            f"header line for all threads (`turns`, `commits`, `aborts`, `expiries`) are per thread slot "
            f"now, on the slot's second line ({src.at(T, 'alignas(64) weft::atomic<W> turns;', full=True)}; "
            f"`stats()` sums them), and exchanges begun are next_ticket - 1, counted by nobody. Those RMWs "
            f"remain but land on a line only the conversation's writer touches.", "",
            f"With one append lane (the default) the append protocol has a single append point: per append `writers + 1` "
            f"({src.at(T, 'void pin_writer(u64 seq) { writer_pin(seq, proc).fetch_add(1, mo_seq_cst); }', full=True)}), the reservation "
            f"`fill.fetch_add` ({src.at(T, 'const u64 old = seg.fill.fetch_add(')}) and `writers - 1` "
            f"({src.at(T, 'void unpin_writer(u64 seq) { writer_pin(seq, proc).fetch_sub(1, mo_release); }')}), all three on the "
            f"one `SegmentHeader` line ({src.at(T, 'struct alignas(64) SegmentHeader {')}), and the records "
            f"and payloads of both writers interleaved in one segment. `perf record` of two writers (32 B; "
            f"`{PERF_TWO}`, when this analysis was written) puts 23% of `begin_turn`'s samples on the pin, "
            f"35% on the first locked instruction after the stores to the new record's header (the progress "
            f"CAS-max: it waits for the store buffer to drain to lines the other core owns), and 58% of "
            f"`finish`'s on the unpin. The record lines are the other core's too: the thread that opens a segment "
            f"re-initialises every record state in it ({src.at(T, 'records[j].state.store(rec_empty, mo_relaxed);')}), "
            f"so half the records a writer takes are first written by the other core. This round the pin "
            f"moved before the segment checks, so its read-modify-write fetches the header line once "
            f"(owned) instead of a load fetching it shared first. "
            f"Aligning payloads to cache lines (so two writers never share a payload line) measured within "
            f"noise and was not kept. What scales is an append point per core, and this round built it: "
            f"*append lanes* (`Config::append_lanes`, {src.at(T, 'bool open_lane(u64 k, u64 cur) {')}). Each lane "
            f"appends to segments of its own, opened in ring order from the one sequence; a writer takes the "
            f"lane of the CPU it runs on, so writers on two cores share no pin, fill or record line. The "
            f"default stays one lane: with more, up to L segments are open at once, and a later turn can land "
            f"in an older lane's segment, below an `end_position()` already handed out (`sync_log`'s promise "
            f"is about turns appended before the call, which still holds). `weft_lanes` is the suite's log "
            f"with 8 lanes; `weft_separate_logs` gives every thread a TurnLog of its own (nothing of the "
            f"append path shared; not a way to use weft, since a conversation must live in one log), the most "
            f"lanes could win. 32 B turns/s, weft / weft_lanes / weft_separate_logs: " +
            ", ".join(f"{t} thr {rate(r.value(('append', 'weft', '32B', 'turns:2'), t))} / "
                      f"{rate(r.value(('append', 'weft_lanes', '32B', 'turns:2'), t))} / "
                      f"{rate(r.value(('append', 'weft_separate_logs', '32B', 'turns:2'), t))}" for t in THREADS) +
            "; weft_lanes ÷ seed_mutex at 2 threads: " +
            ", ".join(f"{p} {times(ratio(r.value(('append', 'weft_lanes', p, 'turns:2'), 2), r.value(('append', 'seed_mutex', p, 'turns:2'), 2)))}"
                      for p in PAYLOADS) +
            " (with coarse_clock: " +
            ", ".join(f"{p} {times(ratio(r.value(('append', 'weft_lanes_coarseclock', p, 'turns:2'), 2), r.value(('append', 'seed_mutex', p, 'turns:2'), 2)))}"
                      for p in PAYLOADS) +
            ")"
            f". Throughput at n threads ÷ at 1 thread (32 B):", "",
            table(["implementation", "2 thr", "4 thr", "8 thr"], rows), ""]
    turnover = prof(profiles, "exchange_weft_32", "inclusive_per_op", "LogEngine::open_next")
    # Per segment: the exchange makes 2 turns, a segment holds records_for(32) of them.
    per_turnover = None if not turnover else turnover * records_for(32) / 2
    full8 = {p: r.value(("append", "weft", p, "turns:2"), 8, "log_full") for p in PAYLOADS}
    big8 = {p: r.value(("append", "weft_ring256m", p, "turns:2"), 8, "log_full") for p in PAYLOADS}
    rate4k = r.value(("append", "weft", "4096B", "turns:2"), 8)
    fill_ms = "n/a" if not rate4k else f"{records_for(4096) * (SEGMENT_COUNT - 1) / rate4k * 1e3:.1f} ms"
    recycle = "Recycle try_recycle(u64 old, u64& holder) {"
    out += ["### 3. Segment turnover and retention (T3)", "",
            f"Until this round the append whose reservation crossed a segment's end opened the next segment "
            f"itself (`reserve` {src.at(T, 'const auto move_on = [&](u64 from) {', full=True)} → `open_lane` "
            f"{src.at(T, 'bool open_lane(u64 k, u64 cur) {')} → `open_next` "
            f"{src.at(T, 'bool open_next(u64 cur, u64 lane_tag, bool ahead = false) {')}) while every other "
            f"writer of the log waited for it in `open_next`'s backoff "
            f"({src.at(T, 'backoff(attempt);  // being prepared')}, "
            f"{src.at(T, 'if (seg_state(w) == seg_recycling) {  // another appender is recycling it')}). "
            f"With retention the opening recycles the oldest segment first (`try_recycle` "
            f"{src.at(T, recycle)}): a pass over every record of the old segment "
            f"({src.at(T, 'for (u64 j = 0; j < records; j++) {', after=recycle, end='    }', nth=1)}; "
            f"each thread looked up once through a small cache, {src.at(T, 'struct ThreadCache {')}), a CAS-max "
            f"of `trimmed_through` per thread ({src.at(T, 'static void raise(weft::atomic<W>& word')}), then "
            f"re-initialising the record states the segment's last sequence used "
            f"({src.at(T, 'records[j].state.store(rec_empty, mo_relaxed);')}): {n(per_turnover)} instructions "
            f"per segment in this run's 32 B profile. Under oversubscription the opener could be preempted "
            f"mid-way, and everyone waited a time slice: p99.9 of one append at 8 threads with one lane was "
            f"32B 28 µs, 256B 125 µs, 4096B 200 µs in the previous report (against seed_mutex's 205 µs, "
            f"312 µs and 14 µs).", "",
            f"Now a ring of at least 4 segments with one append lane opens ahead "
            f"(`prepare_ahead` {src.at(T, 'WEFT_NOINLINE static void prepare_ahead(TurnLog& log, u64 seq) {')}): the writer whose record takes "
            f"the newest segment's middle prepares the next one after publishing its own record, while the "
            f"other writers still append to the newest, and the writer that crosses finds it ready and only "
            f"moves `current` ({src.at(T, 'header.current.compare_exchange_strong(expected, static_cast<W>(next), mo_acq_rel);  // R4, helping')}). "
            f"The work is the same and one append call still pays it (with 32 B turns 1 in "
            f"{records_for(32)}, 256 B 1 in {records_for(256)}, 4 KiB 1 in {records_for(4096)}: a 256 KiB "
            f"segment has {RECORDS_PER_SEGMENT} record headers, "
            f"{src.at(T, 'g.records_per_segment = std::max<u64>(1, std::min<u64>((c.segment_bytes - 64) / 256, records_per_segment_max));')}, "
            f"and holds {records_for(4096)} turns of 4 KiB by bytes), but nobody waits for it unless the "
            f"newest segment fills before it is done. p99.9 of one append at 8 threads in this run, weft vs "
            f"seed_mutex: " +
            ", ".join(f"{p} {ns(r.value(('append', 'weft', p, 'turns:2'), 8, 'append_p999_ns'))} vs "
                      f"{ns(r.value(('append', 'seed_mutex', p, 'turns:2'), 8, 'append_p999_ns'))}" for p in PAYLOADS) +
            ". The cost: while a segment waits prepared, `recycle_oldest` keeps one segment fewer (1/64 of "
            "this ring; `TurnLog::open_ahead_segments_min` in weft/turn_log.h).", "",
            f"Under oversubscription a preempted writer also stops retention: its segment stays pinned "
            f"(`writers`, checked at {src.at(T, 'if (!writers_clear(old, holder)) return restore();  // R5')}) "
            f"and the records of its open exchange cannot be recycled "
            f"({src.at(T, 'if (ticket > thread_at(e->index).visible_through')}), so the other "
            f"writers run the ring full and get `log_full` (this run at 8 threads: " +
            ", ".join(f"{p} {'n/a' if v is None else f'{v:.0f}'}" for p, v in full8.items()) +
            "), back off and retry: the \"preempted holder stalls everyone\" effect of a mutex, moved to "
            "the ring's tail. The ring is what a preempted writer has to be outlasted by: the suite's 16 MiB "
            f"holds {records_for(4096) * (SEGMENT_COUNT - 1)} turns of 4 KiB, {fill_ms} of appends at this "
            "run's 8-thread rate, and a writer preempted inside an exchange is off its core for a time slice "
            "(milliseconds) while 7 others append. `weft_ring256m` is the same log with 1024 segments "
            "(256 MiB). At 8 threads it counted `log_full` " +
            ", ".join(f"{p} {'n/a' if v is None else f'{v:.0f}'}" for p, v in big8.items()) +
            ", and its p99.9 of one append was " +
            ", ".join(f"{p} {ns(r.value(('append', 'weft_ring256m', p, 'turns:2'), 8, 'append_p999_ns'))}"
                      for p in PAYLOADS) +
            ". A log that keeps an open exchange's turns until it finishes or expires (T10) cannot "
            "recycle past a preempted writer, so under oversubscription a ring must hold a time slice of "
            "appends (the seeds' design never waits there: it overwrites its oldest turns whatever their "
            "exchange is doing). With append lanes each lane opens its own segments at the crossing, and "
            "only the writers of that lane wait: p99.9 of one append at 8 threads with 8 lanes "
            "(`weft_lanes`) was " +
            ", ".join(f"{p} {ns(r.value(('append', 'weft_lanes', p, 'turns:2'), 8, 'append_p999_ns'))}"
                      for p in PAYLOADS) + ".", ""]
    lw, lm = prof(profiles, "lock_weft_large_exclusive", "ir_per_op"), prof(profiles, "lock_mutex_map_large_exclusive", "ir_per_op")
    lt, lc = prof(profiles, "lock_tbb_chm_large_exclusive", "ir_per_op"), prof(profiles, "lock_libcuckoo_large_exclusive", "ir_per_op")
    lk = lambda name: n(prof(profiles, name, "locked_per_op"))  # noqa: E731
    lock_manual = ratio(r.value(("lock", "weft_manualclock", "large", "exclusive"), 1), r.value(("lock", "weft", "large", "exclusive"), 1))
    lock_coarse = ratio(r.value(("lock", "weft_coarseclock", "large", "exclusive"), 1), r.value(("lock", "weft", "large", "exclusive"), 1))
    out += ["### 4. LockTable: what an acquire+release still costs (T5, T6)", "",
            f"One acquire+release of an absent key, one thread: weft {n(lw)} instructions (the first run: "
            f"{BEFORE['lock_weft_large_exclusive']}) and {lk('lock_weft_large_exclusive')} atomic RMWs; "
            f"mutex_map {n(lm)} / {lk('lock_mutex_map_large_exclusive')}, tbb_chm {n(lt)} / "
            f"{lk('lock_tbb_chm_large_exclusive')}, libcuckoo {n(lc)} / {lk('lock_libcuckoo_large_exclusive')}.", "",
            f"Changed in this round: an absent key could not stop early, so `scan` read all 32 slots of the "
            f"probe window and the claim's `verify` read the other 31 again (63 slot reads, each its own "
            f"cache line). Each home slot now keeps its *reach*, 1 + the farthest offset at which a key "
            f"with that home was ever claimed ({src.at(L, 'weft::atomic<W> reach;', full=True)}), raised "
            f"before the claim's CAS and read again before verifying (the argument is in weft/lock_table.h, "
            f"\"Insert-if-absent\"; the bug zoo's `reach_not_raised` mutant is caught by S2 and S4.b). "
            f"In a table not near full the reach stays 1: an acquire reads one slot, the verification none. "
            f"The statistics counters (`acquisitions`, `releases`, ...) were two RMWs per pair on one header "
            f"line every thread shared; they are striped over 8 lines now, each operation counting on the "
            f"stripe of its slot ({src.at(L, 'struct alignas(64) Counters {', full=True)}; `stats()` sums them), "
            f"so threads on different sessions seldom share one (LockTable format version 4).", "",
            "What remains:", "",
            f"- The token counter: `next_token.fetch_add` ({src.at(L, 'header.next_token.fetch_add(1, mo_relaxed)')}), "
            f"one RMW per new holder on a header line every thread shares (it is the fencing contract, L3: "
            f"tokens strictly increase per session across holders), plus two seq_cst stores "
            f"({src.at(L, 'slot.state.store(keyed, mo_seq_cst);')} keyed, "
            f"{src.at(L, 'slot.state.store(next_state(keyed_state, held_mode(mode), 1, 0), mo_seq_cst);')} "
            f"publish), each an `xchg`.",
            f"- One clock read per acquire "
            f"({src.at(L, 'const u64 now = clock_.now();', after='AcquireResult LockTable::try_acquire(')}): "
            f"with a ManualClock the same run is {times(lock_manual)} as fast at 1 thread, with "
            f"`coarse_clock()` {times(lock_coarse)}.",
            "- An upper bound on what these could still give, measured on 2026-11-30 with three "
            "experimental builds of this code, none of them kept (each breaks a contract or a "
            "feature): no statistics counters, a per-thread token counter instead of `next_token` "
            "(breaks L3) and a release store instead of the seq_cst publish, all three together: "
            "large key space, exclusive, 11.9 → 12.7 M pairs/s at 1 thread and 16.0-16.5 → "
            "18.8-19.3 M at 2 threads (small: 15.5-15.8 → 19.8-20.4 M), against tbb_chm's 12.6-14.1 M "
            "at 2 threads in the same session (the `lock/weft/{large,small}/exclusive` benchmarks at 1 "
            "and 2 threads, `--benchmark_min_time=0.4`, two rounds against the unchanged build). Each "
            "alone gave 0-10%. So 1.5× tbb_chm is out of "
            "reach at 2 threads even without the features, and at 1 thread (where tbb_chm does 17-18 M "
            "pairs/s) the clock read and the insert-if-absent verification that leases and fencing need "
            "are what stands in the way, not shared lines.", ""]
    alone = r.value(("append", "weft", "256B", "turns:2"), 1)
    with_reader = r.value(("snapshot", "weft", "256B"), 1)
    snap_p50 = r.value(("snapshot", "weft", "256B"), 1, "snapshot_p50_ns")
    out += ["### 5. Snapshots stop retention (not a target; found while measuring)", "",
            f"A snapshot pins the ring's *head* (`pin` {src.at(T, 'bool pin(u64& slot, u64& from) {', full=True)}, "
            f"{src.at(T, 'const u64 h = std::max<u64>(header.head.load(mo_seq_cst), 1);')}: the oldest "
            f"retained sequence), and `pins_clear` ({src.at(T, 'if (pin != 0 && pin_seq(pin) <= seq) {')}) "
            f"refuses to recycle any segment at or after a pin, so while any snapshot or context read is in "
            f"flight the oldest segment cannot be recycled. A reader that snapshots back to back keeps it "
            f"pinned nearly all the time: one 256 B writer drops from {rate(alone)} to {rate(with_reader)} "
            f"turns/s, with `log_full` counted in the snapshot table. A snapshot also scans the whole "
            f"retained ring (`collect` {src.at(T, 'bool collect(const Id& thread, u64 trim, u64 last')}; "
            f"p50 {ns(snap_p50)} here), as the README says. Every request's `context()` is such a read.", ""]
    out += ["### 6. Geometry: record headers are sized for 256-byte turns", "",
            f"Records per segment are fixed at (segment_bytes − 64) / 256 "
            f"({src.at(T, 'g.records_per_segment = std::max<u64>(1, std::min<u64>((c.segment_bytes - 64) / 256, records_per_segment_max));', full=True)}). "
            f"With 32 B turns a 256 KiB segment runs out of its {RECORDS_PER_SEGMENT} headers with "
            f"{RECORDS_PER_SEGMENT * 32 // 1024} KiB of its {PAYLOAD_AREA // 1024} KiB payload area used (the "
            f"16 MiB ring keeps {records_for(32) * (SEGMENT_COUNT - 1)} turns, "
            f"{records_for(32) * (SEGMENT_COUNT - 1) * 32 / 1048576:.1f} MiB of payload); with 4 KiB turns "
            f"{RECORDS_PER_SEGMENT - records_for(4096)} of the headers (a quarter of the ring) are never "
            f"used. Segment turnover (cause 3) is therefore frequent for small turns, and the ring holds "
            f"few large ones, which is what makes 4 KiB appends hit `log_full` first.", ""]
    out += section_unreachable(r)
    if src.missing:
        out += ["(Some cited lines were not found in the current sources and are marked; the code moved "
                "since this analysis was written.)", ""]
    return out


def section_unreachable(r):
    """Targets that no implementation keeping the contracts can meet, shown with this run's figures."""
    out = ["### 7. Two targets no design that keeps the contracts can meet", ""]
    # T4: the ceiling that also copies the payload (and publishes nothing) against the bare fetch_add.
    cells, worst = [], None
    for t in THREADS:
        x = ratio(r.value(("append", "ceiling_faa_memcpy", "32B", "turns:2"), t),
                  r.value(("append", "ceiling_faa", "32B", "turns:2"), t))
        cells.append(f"{t} thr: {times(x)}")
        if x is not None:
            worst = x if worst is None else max(worst, x)
    out += ["- **T4 (32 B appends at ≥ ½ the bare `fetch_add` ceiling) is wrong as stated.** A log has to "
            "keep the turn: `ceiling_faa_memcpy` is that same `fetch_add` plus the 32-byte copy into a "
            "shared ring, with no record header, no publication, no order and no exchange, and in this run "
            "it reaches " + ", ".join(cells) + " of `ceiling_faa` (at most " + times(worst) + "). Any log "
            "that stores payloads is below the copy's ceiling, so the bar for T4 should be "
            "`ceiling_faa_memcpy` (weft ÷ `ceiling_faa_memcpy` is in the 32 B ratio table).", ""]
    # T5 at one thread: the injected clock read alone against a third of mutex_map's pair.
    mutex_pair = r.value(("lock", "mutex_map", "large", "exclusive"), 1)
    weft_pair = r.value(("lock", "weft", "large", "exclusive"), 1)
    manual_pair = r.value(("lock", "weft_manualclock", "large", "exclusive"), 1)
    if None not in (mutex_pair, weft_pair, manual_pair) and min(mutex_pair, weft_pair, manual_pair) > 0:
        budget = 1e9 / mutex_pair / 3.0
        clock_cost = 1e9 / weft_pair - 1e9 / manual_pair
        verdict = ("more than the whole budget" if clock_cost > budget else
                   f"{clock_cost / budget:.0%} of the budget")
        out += [f"- **T5 (≥ 3× `mutex_map`) cannot hold at one thread.** Uncontended, `mutex_map` does an "
                f"acquire+release pair in {ns(1e9 / mutex_pair)} (two uncontended lock/unlock pairs and a "
                f"hash insert and erase), so 3× leaves {ns(budget)} per pair. weft must read the injected "
                f"clock on every acquire (leases expire by it: L4), and that read alone costs "
                f"{ns(clock_cost)} here (`weft` against `weft_manualclock`, large key space, exclusive): "
                f"{verdict}, before any slot is touched. With contention (2 to 8 threads) the target is "
                f"a fair one and the causes in 4. are what stands between weft and it.", ""]
    return out + section_t2_on_two_cores(r)


def section_t2_on_two_cores(r):
    """What T2 (5x at 8 threads) asks of one core, on a 2-core machine, from this run's figures."""
    def v(impl, p, t):
        return r.value(("append", impl, p, "turns:2"), t)
    rows, needs, kept = [], [], []
    for p in PAYLOADS:
        m2, m8 = v("seed_mutex", p, 2), v("seed_mutex", p, 8)
        kept.append(ratio(m8, m2))
        sep8, l8 = v("weft_separate_logs", p, 8), v("weft_lanes", p, 8)
        lc8, lc1 = v("weft_lanes_coarseclock", p, 8), v("weft_lanes_coarseclock", p, 1)
        rows.append([p, rate(m2), rate(m8), times(ratio(sep8, m8)), times(ratio(l8, m8)), times(ratio(lc8, m8))])
        if None not in (m8, lc1) and lc1 > 0:
            needs.append(f"{p} {rate(5 * m8 / 2)} ({times(5 * m8 / 2 / lc1)} its one-thread rate with lanes "
                         f"and coarse_clock, {rate(lc1)})")
    low = min((k for k in kept if k is not None), default=None)
    collapse = ("Here it does not collapse further than at 2 threads (at 8 threads it keeps at least "
                f"{times(low)} of its 2-thread rate): Linux's futex mutex hands the lock over and the 2 "
                "cores stay busy." if low is not None and low >= 0.8 else
                f"In this run it kept {times(low)} of its 2-thread rate at 8 threads.")
    return ["### 8. What T2 asks of one core on this machine", "",
            "T2 assumed the mutex design collapses when 8 threads share 2 cores (a preempted holder stalls "
            "everyone). " + collapse + " At 8 threads no log can do more than 2 cores' worth of "
            "appends. `weft_separate_logs` (every thread its own TurnLog: nothing of the append path shared) "
            "shows what weft's work per turn gives with nothing shared, and lanes come close to it (at 4 KiB "
            "lanes do better: 8 separate rings of the suite's size do not fit the caches):", "",
            table(["payload", "seed_mutex 2 thr", "seed_mutex 8 thr", "separate logs ÷ seed_mutex (8 thr)",
                   "8 lanes ÷ seed_mutex (8 thr)", "8 lanes + coarse clock ÷ seed_mutex (8 thr)"], rows), "",
            "(Separate logs and 8 lanes read `steady_clock`; the last column reads `coarse_clock`.) "
            "5× the mutex at 8 threads therefore needs each of the 2 cores to append " + "; ".join(needs) + ". "
            "Where that is above 1×, it is a target on one core's cost per turn (cause 1 and the atomic "
            "read-modify-writes of cause 2), not on sharing: what sharing costs, lanes removed.", ""]


def section_method(r, timer):
    ctx = r.context
    return ["## Method and caveats", "",
            f"- Latency is sampled: about one iteration in `sample_period` (16-1024, chosen per "
            f"implementation so the timer stays near 1% of the work) is timed with `lfence; rdtsc` "
            f"(calibrated: {ctx.get('ticks_per_ns', '?')} ticks/ns) into a log-linear histogram (exact "
            f"below 64 ticks, then 32 buckets per power of two: ≤ 3.1% error), merged over threads. "
            f"Timing a sample itself costs {timer} (the `timer_floor` benchmark): latencies near it are "
            f"the timer's.",
            f"- {r.repetitions} repetition(s) per benchmark; the tables show the median repetition of each "
            f"figure. Every implementation of one configuration runs back to back, so a ratio compares "
            f"runs seconds apart.",
            "- The machine is shared and a VM: load from other work moves figures between runs (the load "
            "average is in the header). Ratios measured in one run are the figures to quote; "
            "instruction counts (callgrind) do not move. One effect is large: on 2026-11-30 the same "
            "binary ran one-lane `weft` at 2 threads (32 B) at 8.1-9.3 M turns/s in some runs and at "
            "4.1 M in others, minutes apart, with nothing else of ours running (six back-to-back rounds "
            "all gave 8.2-9.3 M). Figures of one-lane weft at 2 threads and more should be read "
            "with that in mind; lanes and separate logs moved far less.",
            "- Google Benchmark prints \"Library was built as DEBUG\": that is Debian's libbenchmark build; "
            "weft_bench and weft are compiled `-O3 -DNDEBUG` (CMake Release).",
            "- Fairness: the seeds' design builds its payload string before taking the lock, is filled at "
            "setup (no rehash while measured) and keeps the same number of turns per conversation as the "
            "weft ring retains (a ring over a reserved vector); it has no idempotency check, no expiry and "
            "no fencing, which weft does. The queues do raw enqueue with no exchange semantics and are "
            "drained every 512 exchanges to stay bounded (the drain is in the throughput, never in a "
            "latency sample). The map baselines issue no fencing token, keep no lease and read no clock; "
            "weft's try_acquire does all three. The ceilings do the least any implementation must.",
            "- weft's TurnLog uses the chat_service example's geometry: 64 segments of 256 KiB "
            "(16 MiB), 16 exchanges per thread, retention `recycle_oldest`; regions are in caller memory, "
            "touched before measuring.", ""]


def load_warning(r, args, info):
    """A warning when other work shared the CPUs during the run."""
    try:
        load = float(args.load_before.split()[0])
        cpus = int(info["cpus"])
    except (ValueError, IndexError):
        return []
    faa_scaling = ratio(r.value(("append", "ceiling_faa", "32B", "turns:2"), 2),
                        r.value(("append", "ceiling_faa", "32B", "turns:2"), 1))
    time_sliced = faa_scaling is not None and faa_scaling > 0.8
    if load < 0.5 * cpus and not time_sliced:
        return []
    return ["> **Loaded machine**: load average " + f"{load:.2f}" + f" on {cpus} CPUs before the run. "
            "Other processes shared the CPUs, so threads of one benchmark were often time-sliced on one "
            "CPU instead of running in parallel: multi-threaded figures understate contention (the "
            "contended fetch_add ceiling went from 1 to 2 threads ×" +
            ("n/a" if faa_scaling is None else f"{faa_scaling:.2f}") + "; on this machine idle it "
            "roughly halves). Rerun on an idle machine before quoting thread-scaling ratios; the "
            "single-thread figures and the callgrind counts are the robust ones.", ""]


def render(r, profiles, args, info):
    targets = evaluate_targets(r)
    timer = ns(r.value(("timer_floor",), 1, "timer_p50_ns"))
    now = datetime.datetime.now(datetime.timezone.utc)
    try:  # when the benchmarks ran (Google Benchmark's context), not when this report was written
        now = datetime.datetime.fromisoformat(r.context.get("date", "")).astimezone(datetime.timezone.utc)
    except ValueError:
        pass
    now = now.strftime("%Y-%m-%d %H:%M UTC")
    out = ["# weft benchmarks", "",
           "Generated by `ci/bench.sh` from `bench/weft_bench.cpp` (do not edit by hand: rerun it). "
           "weft's TurnLog and LockTable against the design users have today (a mutex around a map), "
           "lock-free queues and maps, and the hardware ceiling, in one binary and one run.", ""]
    if args.quick:
        out += ["> **Smoke run (`--quick`)**: every benchmark ran for about 10 ms. The figures prove the "
                "suite works; they are not measurements.", ""]
    out += ["## Machine and run", "", table(["", ""], [
        ["CPU", f"{info['cpu']} ({info['cpus']} CPUs, {info['cores_per_socket']} cores per socket, "
                f"{info['threads_per_core']} thread(s) per core; hypervisor: {info['hypervisor']})"],
        ["caches", info["caches"] or "?"],
        ["kernel", info["kernel"]],
        ["compiler", info["compiler"]],
        ["libraries", ", ".join(f"{k} {v}" for k, v in info["packages"].items())],
        ["date", now],
        ["load average (1/5/15 min)", f"before {args.load_before or '?'}, after {args.load_after or '?'}"],
    ]), "", "Commands:", "", "```sh", "cmake --preset bench && nice -n 10 cmake --build --preset bench"]
    out += args.command + ["```", ""]
    out += load_warning(r, args, info)
    out += ["## Targets", "", table(["", "target", "measured", "met?"],
                                    [[t[0], t[1], t[2], "yes" if t[3] else "**no**"] for t in targets]), ""]
    out += ["Implementations:", ""] + [f"- `{k}`: {v}" for k, v in DESCRIPTIONS.items()] + [""]
    out += section_append(r) + section_outcomes(r) + section_snapshot(r) + section_lock(r)
    src = Source(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    out += section_profile(profiles) + section_misses(r, profiles, targets, src)
    for path in args.section:  # sections other benchmarks wrote (scan_bench --markdown)
        with open(path) as f:
            out += f.read().rstrip("\n").split("\n") + [""]
    out += section_method(r, timer)
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", required=True)
    parser.add_argument("--profiles", default="")
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", action="append", default=[])
    parser.add_argument("--load-before", default="")
    parser.add_argument("--load-after", default="")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--section", action="append", default=[],
                        help="a Markdown file to include as a section (before the method)")
    args = parser.parse_args()
    results = Results(args.json)
    profiles = load_profiles(args.profiles) if args.profiles else {}
    text = render(results, profiles, args, machine())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    expected = 1 + len(APPEND_IMPLS) * len(PAYLOADS) * len(THREADS) + 3 * len(THREADS) + \
        len(SNAPSHOT_IMPLS) * len(WRITERS) + len(SPACES) * len(THREADS) * \
        (len(MODES) * (len(LOCK_IMPLS) - len(LOCK_EXCLUSIVE_ONLY)) + len(LOCK_EXCLUSIVE_ONLY))
    if len(results.rows) != expected:
        results.problems.append(f"{len(results.rows)} benchmarks in the JSON, expected {expected}")
    if results.problems:
        print("weft_bench_report: problems:\n  " + "\n  ".join(results.problems), file=sys.stderr)
        sys.exit(1)
    print(f"weft_bench_report: {len(results.rows)} benchmarks, {len(profiles)} profiles -> {args.out}")


if __name__ == "__main__":
    main()
