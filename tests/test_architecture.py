"""The layer rules hold: the import contracts in pyproject.toml, and no import cycle anywhere in src/reelserve."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_in_pyproject_hold() -> None:
    """Layers import only downward, only the CLI reads Settings, the SDK stands apart, LTX-2 imports one way,
    the HTTP layer's routes stand alone: every contract pyproject.toml declares is checked, none broken."""
    lint = Path(sys.executable).with_name("lint-imports")
    ran = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    declared = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert "0 broken" in ran.stdout and f"{declared} kept" in ran.stdout, ran.stdout


def test_a_gpu_worker_and_its_webhook_delivery_load_no_web_framework() -> None:
    """`reelserve worker` imports these two; the formats they share with the HTTP layer live below it."""
    probe = ("import sys, reelserve.worker, reelserve.delivery; "
             "print(sorted(m for m in ('fastapi', 'starlette', 'sse_starlette') if m in sys.modules))")
    ran = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]", ran.stdout


def test_no_module_takes_part_in_an_import_cycle() -> None:
    """Module by module, packages' __init__ included (acyclic_siblings compares siblings only)."""
    graph = grimp.build_graph("reelserve", cache_dir=None)
    cycles = [sorted(group) for group in _strongly_connected(graph) if len(group) > 1]
    assert cycles == [], cycles


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm over the direct imports, without recursion (the graph is a few hundred edges)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == module:
                            break
                    groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
            elif child in on_stack:
                low[module] = min(low[module], index[child])
    return groups
