#!/usr/bin/env python3
"""Repeatable per-operation figures from a callgrind profile of weft_bench.

    weft_bench_callgrind.py <callgrind.out> <ops>

The profile must come from
    valgrind --tool=callgrind --dump-instr=yes --toggle-collect=weft_bench_profiled \\
        weft_bench --profile=<what> --profile_ops=<ops>
so that only the <ops> operations are collected. Prints one JSON object:

    ir_per_op        instructions executed per operation
    locked_per_op    atomic read-modify-writes executed per operation: x86
                     instructions with a lock prefix, plus xchg with memory
                     (every seq_cst store compiles to one); found by matching
                     the instruction addresses callgrind recorded against
                     objdump's disassembly of each object
    calls_per_op     {function: calls per operation} for the functions named
                     in FUNCTIONS_OF_INTEREST
    inclusive_per_op {function: instructions per operation, callees included}

Standard library only (plus objdump from binutils).
"""
import collections
import json
import re
import subprocess
import sys

FUNCTIONS_OF_INTEREST = (
    "TurnLog::begin_exchange", "TurnLog::append", "TurnLog::begin_turn", "TurnWriter::write",
    "TurnWriter::finish", "TurnLog::commit", "LogEngine::advance", "LogEngine::open_next",
    "checksum_of", "steady_clock::now", "LockTable::try_acquire", "LockTable::release",
    "malloc", "free", "pthread_mutex_lock", "pthread_mutex_unlock", "__memcpy_avx_unaligned_erms",
)

NAME_RE = re.compile(r"^(ob|cob|fl|fi|fe|cfi|cfl|fn|cfn)=\((\d+)\)(?: (.*))?$")


def position(field, previous):
    """Decodes one position field (absolute, +n, -n or *)."""
    if field == "*":
        return previous
    if field[0] in "+-":
        return previous + int(field, 0)
    return int(field, 0)


def parse(path):
    """Self cost per (object, address); inclusive cost and calls per callee name."""
    names = {"ob": {}, "fn": {}}
    obj = None
    callee = None
    address = 0
    line = 0
    pending_call = None
    self_cost = collections.Counter()
    inclusive = collections.Counter()
    calls = collections.Counter()
    with open(path) as f:
        for raw in f:
            raw = raw.rstrip("\n")
            m = NAME_RE.match(raw)
            if m:
                kind, idx, name = m.groups()
                space = "ob" if kind in ("ob", "cob") else "fn" if kind in ("fn", "cfn") else None
                if space and name:
                    names[space][idx] = name
                if kind == "ob":
                    obj = names["ob"].get(idx)
                elif kind == "cfn":
                    callee = names["fn"].get(idx)
                continue
            if raw.startswith("calls="):
                pending_call = int(raw.split()[0][6:])
                continue
            if not raw or not (raw[0].isdigit() or raw[0] in "+-*"):
                continue
            parts = raw.split()
            if len(parts) < 3:
                continue
            address = position(parts[0], address)
            line = position(parts[1], line)
            cost = int(parts[2])
            if pending_call is not None:
                inclusive[callee] += cost
                calls[callee] += pending_call
                pending_call = None
            else:
                self_cost[(obj, address)] += cost
    return self_cost, inclusive, calls


def locked_addresses(obj):
    """Addresses of atomic read-modify-write instructions in one object."""
    try:
        text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", obj], check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    found = set()
    for row in text.split("\n"):
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", row)
        if not m:
            continue
        insn = m.group(2)
        if re.match(r"lock\b", insn) or (re.match(r"xchg\b", insn) and "(" in insn):
            found.add(int(m.group(1), 16))
    return found


def base_name_is(name, key):
    """True when function `name` (demangled, maybe with arguments and a
    symbol version) is `key` or ends with `::key`."""
    base = name.split("@")[0].strip()
    if base.endswith(" const"):
        base = base[: -len(" const")]
    if base.endswith(")"):  # drop the parameter list (names may hold "(anonymous namespace)")
        depth = 0
        for i in range(len(base) - 1, -1, -1):
            depth += base[i] == ")"
            depth -= base[i] == "("
            if depth == 0:
                base = base[:i]
                break
    return base == key or base.endswith("::" + key)


def summarize(path, ops):
    self_cost, inclusive, calls = parse(path)
    total = sum(self_cost.values())
    locked = 0
    by_object = collections.defaultdict(list)
    for (obj, address), cost in self_cost.items():
        by_object[obj].append((address, cost))
    for obj, rows in by_object.items():
        if not obj:
            continue
        addresses = locked_addresses(obj)
        locked += sum(cost for address, cost in rows if address in addresses)
    wanted = {}
    for key in FUNCTIONS_OF_INTEREST:
        hits = [n for n in inclusive if n and base_name_is(n, key)]
        if hits:
            wanted[key] = (sum(inclusive[n] for n in hits) / ops, sum(calls[n] for n in hits) / ops)
    return {
        "ir_per_op": total / ops,
        "locked_per_op": locked / ops,
        "inclusive_per_op": {k: v[0] for k, v in wanted.items()},
        "calls_per_op": {k: v[1] for k, v in wanted.items()},
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps(summarize(sys.argv[1], float(sys.argv[2])), indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
