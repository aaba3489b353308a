#!/usr/bin/env python3
"""layers.py - proves that the files of server/ form layers: no circle among them.

Reads each server object's defined and undefined symbols with nm(1). File A uses file B when A
leaves undefined a symbol that B defines. A circle (A uses B and B, directly or through others,
uses A) fails the check, naming the files around it and one symbol for each step. main.c and
cli.c are the top: they may use anything, and nothing may use them.

usage: tools/layers.py [OBJ_DIR [SRC_DIR]]
  OBJ_DIR holds the objects of server/ (default build/obj/server); only those of the sources in
  SRC_DIR (default server) count, so that a stale object of a removed file does not.
"""
import os
import subprocess
import sys

TOP = {"main", "cli"}


def symbols(path):
    out = subprocess.run(["nm", "-P", path], check=True, capture_output=True,
                         text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():  # global: text, data, bss, read-only, common
            defined.add(name)
    return defined, undefined


def graph(obj_dir, src_dir):
    files = sorted(f[:-2] for f in os.listdir(src_dir) if f.endswith(".c"))
    if not files:
        sys.exit(f"layers: no objects in {obj_dir} (run make binaries)")
    for f in files:
        if not os.path.exists(os.path.join(obj_dir, f + ".o")):
            sys.exit(f"layers: no {obj_dir}/{f}.o for {src_dir}/{f}.c (run make binaries)")
    syms = {f: symbols(os.path.join(obj_dir, f + ".o")) for f in files}
    owner = {}
    for f, (defined, _) in syms.items():
        for s in defined:
            owner[s] = f
    uses = {f: {} for f in files}  # file -> {used file: one symbol}
    for f, (_, undefined) in syms.items():
        for s in sorted(undefined):
            g = owner.get(s)
            if g and g != f:
                uses[f].setdefault(g, s)
    return files, uses


def components(files, uses):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(uses[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in files:
        if v not in index:
            visit(v)
    return out


def cycle_in(comp, uses, start):
    """A shortest circle through start within comp, as a list of files (start repeated last)."""
    members = set(comp)
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(uses[v]):
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return path[::-1] + [start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start, start]


def main():
    obj_dir = sys.argv[1] if len(sys.argv) > 1 else "build/obj/server"
    src_dir = sys.argv[2] if len(sys.argv) > 2 else "server"
    files, uses = graph(obj_dir, src_dir)
    bad = 0
    for f in files:
        for g, s in sorted(uses[f].items()):
            if g in TOP and f not in TOP:
                print(f"layers: server/{f}.c uses server/{g}.c ({s}), which is the top")
                bad = 1
    for comp in components(files, uses):
        print(f"layers: files in a circle: {', '.join(c + '.c' for c in comp)}")
        seen = set()
        for start in comp:  # a shortest circle through each of them, each circle once
            path = cycle_in(comp, uses, start)
            if frozenset(path) in seen:
                continue
            seen.add(frozenset(path))
            print("  " + " -> ".join(f"{a}.c ({uses[a][b]})" for a, b in zip(path, path[1:]))
                  + f" -> {path[-1]}.c")
        bad = 1
    if bad:
        sys.exit(1)
    print(f"layers: {len(files)} server files, no circle")


if __name__ == "__main__":
    main()
