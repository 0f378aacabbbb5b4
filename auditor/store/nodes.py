"""Nodes: the worker processes alive right now, each announcing itself with a heartbeat row."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from auditor.store.db import Database
from auditor.store.models import Node, utcnow


def heartbeat_node(
    db: Database, node_id: str, role: str, hostname: str, pid: int, location: str = ""
) -> None:
    """Record that ``node_id`` (probing from ``location``) is alive now (made on the first beat)."""
    now = utcnow()
    with db.write(background=True) as s:
        node = s.get(Node, node_id)
        if node is None:
            node = Node(id=node_id, role=role, hostname=hostname, pid=pid, started_at=now)
        node.last_seen_at = now
        node.location = location
        s.add(node)


def remove_node(db: Database, node_id: str) -> None:
    """Forget a node that stopped cleanly (a crashed one just stops beating)."""
    with db.write() as s:
        node = s.get(Node, node_id)
        if node is not None:
            s.delete(node)


def live_nodes(db: Database, within_s: float = 30.0) -> list[Node]:
    """Nodes that beat within the last ``within_s`` seconds."""
    cutoff = utcnow() - timedelta(seconds=within_s)
    with db.read() as s:
        return list(s.exec(select(Node).where(col(Node.last_seen_at) >= cutoff)).all())
