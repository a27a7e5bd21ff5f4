#!/usr/bin/env python3
"""Fail when the source files of a crate import each other in a cycle.

Layers must import one way (codec-core: leaves <- format <- transform/entropy <- quant <-
encode/decode <- scalable). No maintained tool checks this offline without building the
crate (cargo-modules needs rust-analyzer's crates), so this reads the sources: every
`crate::`, `super::` and `self::` path, in `use` trees and in code, is an edge from the file
it is written in to the file of the longest module prefix it names. `mod x;` declarations
are not edges (a parent declaring a child imports nothing), and nor are method calls, which
cannot be resolved without the compiler. Paths inside inline modules (`mod tests { ... }`)
resolve from that module.

Usage: scripts/check-cycles.py [CRATE_DIR ...]   (default: every workspace crate)
Exits 1 and prints each cycle when one is found.
"""

import re
import sys
from pathlib import Path

DEFAULT_CRATES = ["codec-core", "codec-ffi", "codec-host", "tests"]


def strip_comments_and_strings(text):
    """Blank out comments, string and char literals, keeping line structure."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if text[i] == "\n" else " ")
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not re.match(r"\w", text[i - 1:i] or " "):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or re.match(r"'\\(x..|u\{[0-9a-fA-F]+\})'", text[i:i + 12]):
            m = re.match(r"'(\\x..|\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_files(src):
    """Map module path tuples to files: lib.rs is the root; a/mod.rs and a.rs are `a`."""
    files = {}
    for f in sorted(src.rglob("*.rs")):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts in (["lib"], ["main"]):
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        key = tuple(parts)
        # A binary's main.rs is a crate of its own: keep lib.rs as the root.
        if key in files and f.name == "main.rs":
            continue
        files[key] = f
    return files


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (`self` in a group names the prefix)."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas\w+", "", tree)

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        return parts

    def expand(prefix, s):
        i = s.find("{")
        if i < 0:
            path = prefix + [p for p in s.split("::") if p]
            if path and path[-1] == "self":
                path = path[:-1]
            return [path]
        head = [p for p in s[:i].split("::") if p]
        inner = s[i + 1:s.rfind("}")]
        result = []
        for part in split_top(inner):
            result.extend(expand(prefix + head, part))
        return result

    return expand([], tree)


PATH = re.compile(r"(?<![\w:])(crate|super|self)((?:::(?:r#)?\w+)+)")
USE = re.compile(r"\buse\s+([^;]+);")
INLINE_MOD = re.compile(r"\bmod\s+(\w+)\s*\{")


def resolve(path, here):
    """Absolute module path of a `crate`/`super`/`self` path written in module `here`."""
    base = list(here)
    segs = list(path)
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    else:
        while segs and segs[0] in ("self", "super"):
            if segs[0] == "super":
                if not base:
                    return None
                base = base[:-1]
            segs = segs[1:]
    return base + segs


def file_of(path, files):
    for n in range(len(path), -1, -1):
        if tuple(path[:n]) in files:
            return files[tuple(path[:n])]
    return None


def edges_of(file, module, files):
    text = strip_comments_and_strings(file.read_text())
    # Which inline module each offset lies in.
    spans = []
    for m in INLINE_MOD.finditer(text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        spans.append((m.start(), j, m.group(1)))

    def module_at(pos):
        inner = [name for (a, b, name) in spans if a <= pos < b]
        return tuple(module) + tuple(inner)

    paths = []
    used = []
    for m in USE.finditer(text):
        for p in expand_use_tree(m.group(1)):
            if p and p[0] in ("crate", "super", "self"):
                paths.append((p, m.start()))
        used.append((m.start(), m.end()))
    for m in PATH.finditer(text):
        if any(a <= m.start() < b for a, b in used):
            continue
        segs = [m.group(1)] + [s for s in m.group(2).split("::") if s]
        paths.append((segs, m.start()))
    out = set()
    for segs, pos in paths:
        target = resolve(segs, module_at(pos))
        if target is None:
            continue
        f = file_of(target, files)
        if f is not None and f != file:
            out.add(f)
    return out


def cycles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, result = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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
                result.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def report(crate, kind, found, graph, name):
    for comp in found:
        members = set(comp)
        print(f"{crate}: import cycle among {kind} " + ", ".join(name(v) for v in comp))
        for v in comp:
            for w in sorted(graph[v] & members):
                print(f"    {name(v)} -> {name(w)}")


def main(argv):
    root = Path(__file__).resolve().parent.parent
    crates = argv or DEFAULT_CRATES
    failed = False
    for crate in crates:
        src = root / crate / "src"
        files = module_files(src)
        graph = {f: edges_of(f, list(m), files) for m, f in files.items()}
        # The same between top-level modules (a folder and its files count as one): two
        # stages that import each other through different files are still a cycle.
        top = {f: "/".join(m[:1]) or "<root>" for m, f in files.items()}
        folders = {t: set() for t in top.values()}
        for f, targets in graph.items():
            for g in targets:
                if top[f] != top[g] and "<root>" not in (top[f], top[g]):
                    folders[top[f]].add(top[g])
        by_file, by_folder = cycles(graph), cycles(folders)
        report(crate, "files", by_file, graph, lambda f: str(f.relative_to(root)))
        report(crate, "modules", by_folder, folders, lambda t: t)
        if by_file or by_folder:
            failed = True
        else:
            count = sum(len(v) for v in graph.values())
            print(f"{crate}: {len(files)} files, {count} import edges, no cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
