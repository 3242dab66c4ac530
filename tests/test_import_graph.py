"""The import graph keeps the layout: edges over a common core, no cycles, services kept to their domain."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("web", "worker", "common")
# Services every domain may build on, inside its own unit of work. Each is a lower layer: it
# imports no other domain's service (checked below), so allowing it cannot close a cycle.
LOWER_SERVICES = {
    "common.jobs.service": "job rows and the queue every asynchronous domain hands work to",
    "common.gamification.service": "the XP and badge ledger that learning and forum activity write into",
}


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)


def domain(module: str) -> str:
    """The unit a dependency is counted between: common/<domain> (or a common module), else the edge."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "common" else parts[0]


def is_model(module: str) -> bool:
    # The models are one schema on one metadata: their relationships cross domains by design.
    return module == "common.models" or module.endswith(".models")


def module_cycles(graph) -> list[tuple[str, ...]]:
    """One chain per direct import that some path imports back."""
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append((importer, *back))
    return cycles


def domain_edges(graph) -> dict[tuple[str, str], tuple[str, str]]:
    """(domain, domain) -> one example import, over everything but the models."""
    edges = {}
    for importer in graph.modules:
        if is_model(importer):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            pair = (domain(importer), domain(imported))
            if not is_model(imported) and pair[0] != pair[1]:
                edges.setdefault(pair, (importer, imported))
    return edges


def domain_cycle(edges) -> list[str] | None:
    """A cycle in the domain graph, as the list of its domains, or None (depth-first search)."""
    successors: dict[str, set[str]] = {}
    for a, b in edges:
        successors.setdefault(a, set()).add(b)
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(successors.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(successors):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_core_imports_neither_edge_and_web_does_not_import_the_worker(graph):
    for importer, imported in [("common", "web"), ("common", "worker"), ("web", "worker")]:
        chain = graph.find_shortest_chain(importer=importer, imported=imported, as_packages=True)
        assert chain is None, f"{importer} must not import {imported}: {' -> '.join(chain)}"


def test_no_module_imports_itself_back(graph):
    assert module_cycles(graph) == []


def test_domains_depend_on_each_other_without_cycles(graph):
    edges = domain_edges(graph)
    cycle = domain_cycle(edges)
    assert cycle is None, (
        "domain cycle "
        + " -> ".join(cycle)
        + ": "
        + "; ".join(" imports ".join(edges[pair]) for pair in zip(cycle, cycle[1:], strict=False))
    )


def test_a_domain_service_never_imports_another_domains_service(graph):
    offences = []
    for service in sorted(m for m in graph.modules if m.startswith("common.") and m.endswith(".service")):
        for imported in graph.find_modules_directly_imported_by(service):
            if imported.endswith(".service") and domain(imported) != domain(service):
                if imported not in LOWER_SERVICES or service in LOWER_SERVICES:
                    offences.append(f"{service} imports {imported}")
    assert offences == [], "cross-domain work belongs in common/flows/: " + "; ".join(offences)


def test_only_flows_and_edges_import_the_flows(graph):
    importers = {
        importer
        for flow in graph.find_children("common.flows")
        for importer in graph.find_modules_that_directly_import(flow)
    }
    assert {m for m in importers if domain(m) not in ("common.flows", "web", "worker")} == set()


def test_the_checks_find_what_they_look_for():
    """The checkers on a made-up graph: a module cycle, a domain cycle through a service import."""
    graph = grimp.ImportGraph()
    for module in (
        "common",
        "common.a",
        "common.a.service",
        "common.b",
        "common.b.service",
        "common.b.models",
    ):
        graph.add_module(module)
    graph.add_import(importer="common.a.service", imported="common.b.service")
    graph.add_import(importer="common.b.service", imported="common.a.service")
    graph.add_import(importer="common.a.service", imported="common.b.models")
    assert ("common.a.service", "common.b.service", "common.a.service") in module_cycles(graph)
    edges = domain_edges(graph)
    assert set(edges) == {("common.a", "common.b"), ("common.b", "common.a")}  # the models don't count
    assert domain_cycle(edges) == ["common.a", "common.b", "common.a"]
    assert domain_cycle({("common.a", "common.b"): ("x", "y")}) is None
