#!/usr/bin/env python3
"""No import cycles between the modules of a crate.

At every level of each crate's module tree, the sibling modules (with everything below each)
must form an acyclic graph of `crate::`, `super::` and `self::` references: a cycle means two
modules that can only be understood, tested and changed together, and usually a type that
wants a module of its own. Tests and fixtures are left out (they may reach anywhere), as are
comments. Usage: scripts/check-module-cycles.py [REPO] [CRATE...]; exits 1 and names the
references of each cycle found.
"""
import os, re, sys
from collections import defaultdict
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
CRATES = sys.argv[2:] or ["crds", "controls", "history", "runtime", "webhook", "operator", "kubectl-hipaa", "tests"]
def modpath(src, path):
    parts = os.path.relpath(path, src)[:-3].split('/')
    if parts[-1] in ('mod', 'lib', 'main'): parts = parts[:-1]
    return tuple(parts)
def resolve(cur, path):
    segs = path.split('::')
    if segs[0] == 'crate': base = (); segs = segs[1:]
    elif segs[0] == 'super':
        base = cur
        while segs and segs[0] == 'super': base = base[:-1]; segs = segs[1:]
    elif segs[0] == 'self': base = cur; segs = segs[1:]
    else: return None
    return base + tuple(segs)
found = 0
for crate in CRATES:
    src = os.path.join(root, crate, 'src')
    mods = {}
    for d, _, fs in os.walk(src):
        if '/bin' in d: continue
        for f in fs:
            if f.endswith('.rs'):
                m = modpath(src, os.path.join(d, f))
                if 'tests' in m or 'fixtures' in m: continue
                mods[m] = os.path.join(d, f)
    modset = set(mods)
    refs = set()
    for m, p in mods.items():
        text = re.split(r'#\[cfg\(test\)\]', open(p).read())[0]
        text = re.sub(r'//[^\n]*', '', text)
        targets = []
        for mm in re.finditer(r'\b((?:crate|super|self)(?:::\w+)+)', text):
            targets.append(resolve(m, mm.group(1)))
        for mm in re.finditer(r'\buse\s+((?:crate|super|self)(?:::\w+)*)::\{([^}]*)\}', text, re.S):
            base = resolve(m, mm.group(1))
            for item in mm.group(2).split(','):
                item = item.strip().split('::')[0].split(' ')[0]
                if item and item != 'self': targets.append(base + (item,))
        for t in targets:
            if t is None: continue
            while t and t not in modset: t = t[:-1]
            if t: refs.add((m, t))
    # at each parent, sibling graph over subtrees
    parents = {m[:-1] for m in modset if m}
    for parent in sorted(parents):
        kids = sorted({m[len(parent)] for m in modset if len(m) > len(parent) and m[:len(parent)] == parent})
        edges = defaultdict(set)
        for a, b in refs:
            if a[:len(parent)] != parent or b[:len(parent)] != parent: continue
            if len(a) <= len(parent) or len(b) <= len(parent): continue
            ka, kb = a[len(parent)], b[len(parent)]
            if ka != kb: edges[ka].add(kb)
        index = {}; low = {}; st = []; on = set(); c = [0]
        def sc(v):
            index[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
            for w in edges[v]:
                if w not in index: sc(w); low[v] = min(low[v], low[w])
                elif w in on: low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = st.pop(); on.discard(w); comp.append(w)
                    if w == v: break
                if len(comp) > 1:
                    global found
                    found += 1
                    pre = '::'.join(parent)
                    print(f"{crate}: in {pre or 'crate root'}: cycle among {sorted(comp)}")
                    for a, b in sorted(refs):
                        if a[:len(parent)] == parent and b[:len(parent)] == parent and len(a) > len(parent) and len(b) > len(parent) and a[len(parent)] in comp and b[len(parent)] in comp and a[len(parent)] != b[len(parent)]:
                            print('     ', '::'.join(a), '->', '::'.join(b))
        for v in kids:
            if v not in index: sc(v)
sys.exit(1 if found else 0)
