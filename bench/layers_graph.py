"""Draw static/docs/layers.svg: the import graph of the four apps, read by grimp (the graph
import-linter checks), the layers of the contract in pyproject.toml stacked top to bottom, the
modules of each layer gathered in a few boxes (BOXES), one arrow per pair of boxes with imports
between them (function-level imports included, migrations left out), labelled with the number of
importing modules. Every arrow points down or sideways within a layer: one that
pointed up would also fail `lint-imports`.

    .venv/bin/python bench/layers_graph.py        # needs graphviz's `dot` (apt-get install graphviz)
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "static" / "docs" / "layers.svg"
NAMES = ["5. pages and wiring", "4. billing, API, grants, redemption, results", "3. campaigns",
         "2. catalog", "1. platform"]
COLOURS = ["#fde2e4", "#e2ece9", "#dfe7fd", "#fff1e6", "#eeeeee"]


# The boxes drawn: a module goes to the first box one of whose prefixes it starts with.
BOXES = [
    ("console.pages", ["console.pages"]),
    ("console.urls, admin, wsgi", ["console.urls", "console.admin", "console.wsgi"]),
    ("load_demo_account", ["rewards.management.commands.load_demo_account"]),
    ("billing", ["billing"]),
    ("rewards.api", ["rewards.api"]),
    ("rewards.redemption", ["rewards.redemption"]),
    ("campaigns.results", ["campaigns.results"]),
    ("campaigns.views, urls", ["campaigns.views", "campaigns.urls"]),
    ("rewards.catalog", ["rewards.catalog"]),
    ("rewards: grants, models,\ncache, admin, urls", ["rewards.services", "rewards."]),
    ("campaigns", ["campaigns."]),
    ("console.webhooks", ["console.webhooks"]),
    ("console (platform)", ["console."]),
]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    layers = [[n.strip() for p in layer.split("|") for n in p.split(":")] for layer in contract["layers"]]
    entries = [e for layer in layers for e in layer]
    graph = grimp.build_graph(*config["root_packages"], cache_dir=None)

    def entry_of(module: str) -> str | None:
        homes = [e for e in entries if module == e or module.startswith(e + ".")]
        return max(homes, key=len) if homes else None

    def box_of(entry: str) -> str:
        return next(name for name, prefixes in BOXES if any(
            entry == p or entry.startswith(p if p.endswith(".") else p + ".") or entry == p.rstrip(".")
            for p in prefixes))

    edges: Counter[tuple[str, str]] = Counter()
    for module in graph.modules:
        if ".migrations" in module:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = entry_of(module), entry_of(imported)
            if a and b and ".migrations" not in imported and box_of(a) != box_of(b):
                edges[(box_of(a), box_of(b))] += 1

    dot = ["digraph layers {", '  rankdir=TB; newrank=true; nodesep=0.25; ranksep=0.7;',
           '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=11];',
           '  edge [color="#5577aa", arrowsize=0.6, fontname="Helvetica", fontsize=8, fontcolor="#5577aa"];']
    rank: dict[str, int] = {}
    for i, layer in enumerate(layers):
        for entry in layer:
            assert rank.setdefault(box_of(entry), i) == i, f"{entry}: {box_of(entry)!r} spans two layers"
    for i, _layer in enumerate(layers):
        boxes = [name for name, _ in BOXES if rank.get(name) == i]
        dot.append(f'  subgraph cluster_{i} {{ label="{NAMES[i]}"; labeljust=l; style=filled; '
                   f'color="{COLOURS[i]}"; fontname="Helvetica-Bold"; fontsize=12;')
        dot.append("    { rank=same; " + " ".join(f'"{b}";' for b in boxes) + " }")
        dot.append("  }")
    for (a, b), n in sorted(edges.items()):
        assert rank[a] <= rank[b], f"{a} imports {b}, a higher layer: run lint-imports"
        constraint = "true" if rank[a] < rank[b] else "false"
        dot.append(f'  "{a}" -> "{b}" [label="{n}", constraint={constraint}];')
    dot.append("}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    svg = subprocess.run(["dot", "-Tsvg"], input="\n".join(dot), text=True, capture_output=True,
                         check=True).stdout
    OUT.write_text(svg)
    print(f"{OUT.relative_to(ROOT)}: {len(rank)} boxes, {len(edges)} arrows, none upward")


if __name__ == "__main__":
    main()
