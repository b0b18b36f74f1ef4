#!/usr/bin/env python3
"""The include graph between lib/'s folders, and whether it has a cycle.

A folder depends on another when one of its files includes a header of the
other, directly or through other headers: an internal header belongs to the
folder it lives in, a public header (sysmap/X.h) to the folder whose sources
define its functions. Prints one
line per edge with the files behind it, then the cycles; exits 1 on a cycle.

    tools/ci/include_graph.py [--dot]
"""
import collections
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIB = ROOT / "lib"
PUBLIC = LIB / "include" / "sysmap"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
DECLARED = re.compile(r"\b(sm_\w+)\s*\(")
# A definition: the name at the start of a declarator, then a body.
DEFINED = re.compile(r"^[a-z][\w \*]*?\b(sm_\w+)\s*\([^;{]*\)\s*\{", re.M)
# A variable defined at file scope with an initialiser.
VARIABLE = re.compile(r"^[a-z][\w \*]*?\b(sm_\w+)(?:\[\w*\])?\s*=", re.M)
NAME = re.compile(r"\bsm_\w+\b")


def folder(path):
    return str(path.parent.relative_to(LIB))


def sources():
    return [p for p in LIB.rglob("*.[ch]") if PUBLIC not in p.parents]


def definitions():
    """sm_ name -> the folder whose sources define it."""
    defined = {}
    for src in LIB.rglob("*.c"):
        text = src.read_text()
        for name in DEFINED.findall(text) + VARIABLE.findall(text):
            defined[name] = folder(src)
    return defined


def implementing_folders(defined):
    """sysmap/X.h -> the folder that defines most of its functions."""
    owner = {}
    for header in PUBLIC.glob("*.h*"):
        votes = collections.Counter(defined[n] for n in DECLARED.findall(header.read_text())
                                    if n in defined)
        if votes:
            owner["sysmap/" + header.name.removesuffix(".in")] = votes.most_common(1)[0][0]
    return owner


def header_paths():
    """include name -> file, for the headers of lib/."""
    paths = {"sysmap/" + p.name.removesuffix(".in"): p for p in PUBLIC.glob("*.h*")}
    paths.update({p.name: p for p in sources() if p.suffix == ".h"})
    return paths


def closure(src, paths):
    """Every header of lib/ that src includes, directly or not."""
    seen, todo = set(), INCLUDE.findall(src.read_text())
    while todo:
        inc = todo.pop()
        if inc in paths and inc not in seen:
            seen.add(inc)
            todo += INCLUDE.findall(paths[inc].read_text())
    return seen


def edges():
    defined = definitions()
    owner = implementing_folders(defined)
    internal = {p.name: folder(p) for p in sources() if p.suffix == ".h"}
    paths = header_paths()
    graph = collections.defaultdict(lambda: collections.defaultdict(set))
    for src in sources():
        here = folder(src)
        for inc in closure(src, paths):
            there = owner.get(inc) or internal.get(inc)
            if there and there != here:
                graph[here][there].add(f"{src.relative_to(LIB)} includes {inc}")
        if src.suffix == ".c":
            for name in set(NAME.findall(src.read_text())):
                there = defined.get(name)
                if there and there != here:
                    graph[here][there].add(f"{src.relative_to(LIB)} uses {name}")
    return graph


def cycles(graph):
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def main():
    graph = edges()
    if "--dot" in sys.argv:
        print("digraph lib {")
        for a in sorted(graph):
            for b in sorted(graph[a]):
                print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    for a in sorted(graph):
        for b in sorted(graph[a]):
            why = sorted(graph[a][b])
            print(f"{a} -> {b}  ({len(why)}: {why[0]}{', ...' if len(why) > 1 else ''})")
    found = cycles(graph)
    for c in found:
        print("CYCLE: " + " -> ".join(c))
    print(f"{sum(len(v) for v in graph.values())} edges between {len(graph)} folders; "
          f"{len(found)} cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
