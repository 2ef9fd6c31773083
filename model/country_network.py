"""The country network: a networkx MultiGraph with edges of kind border, remittance, alliance.

Remittance edges are written sender first (``a`` sends to ``b``); the graph keeps that
direction in the edge attributes ``sender`` and ``receiver``.

Several edges may join two countries (a border and a remittance corridor, say); how they
add up to a neighbour's weight in the pull is stated once, in docs/ODD.md 7.1
(:func:`neighbour_weights` is its code).
"""

from __future__ import annotations

import networkx as nx

from model.config import EdgeKindWeights, ScenarioConfig


def build_country_graph(cfg: ScenarioConfig) -> nx.MultiGraph:
    graph = nx.MultiGraph()
    for code, c in cfg.countries.items():
        graph.add_node(code, name=c.name, lat=c.lat, lon=c.lon)
    for eid, e in cfg.network.edges.items():
        graph.add_edge(e.a, e.b, key=eid, kind=e.kind, weight=e.weight, sender=e.a, receiver=e.b)
    return graph


def neighbour_weights(graph: nx.MultiGraph, code: str, kinds: EdgeKindWeights) -> dict[str, float]:
    """How much each neighbour weighs in ``code``'s policy choices.

    Border and alliance edges count both ways. A remittance edge runs from the sending
    country ``a`` to the receiving country ``b`` and weighs only on the receiver: its
    weight is the corridor's share of the receiver's inflows, which says nothing about
    the sender's attention to the receiver.
    """
    out: dict[str, float] = {}
    for _, other, data in graph.edges(code, data=True):
        if data["kind"] == "remittance" and data.get("receiver") != code:
            continue
        w = data["weight"] * getattr(kinds, data["kind"])
        out[other] = out.get(other, 0.0) + w
    return out
