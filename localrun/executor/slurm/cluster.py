"""What sinfo and scontrol say of the cluster: its name, partitions, nodes and idle cores."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SINFO_FORMAT = "%P|%D|%c|%C|%a"


@dataclass(frozen=True)
class Partition:
    name: str
    default: bool
    up: bool
    nodes: int
    cores_per_node: int
    idle_cores: int
    total_cores: int


@dataclass(frozen=True)
class Cluster:
    name: str
    partitions: list[Partition]

    def partition(self, name: str) -> Partition | None:
        """The partition of that name, or the default one for ''."""
        for part in self.partitions:
            if part.name == name or (not name and part.default):
                return part
        return None

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "partitions": [asdict(p) for p in self.partitions],
            "nodes": sum(p.nodes for p in self.partitions),
            "idle_cores": sum(p.idle_cores for p in self.partitions),
        }


def parse_sinfo(text: str) -> list[Partition]:
    """sinfo --noheader --format=SINFO_FORMAT output; a partition over several lines (nodes of
    different sizes) is summed, with the largest node's cores."""
    found: dict[str, Partition] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 5 or not parts[0]:
            continue
        name, default = parts[0].rstrip("*"), parts[0].endswith("*")
        try:
            nodes = int(parts[1])
            per_node = int(parts[2].rstrip("+"))
            _alloc, idle, _other, total = (int(n) for n in parts[3].split("/"))
        except ValueError:
            continue
        seen = found.get(name)
        if seen is not None:
            nodes += seen.nodes
            per_node = max(per_node, seen.cores_per_node)
            idle += seen.idle_cores
            total += seen.total_cores
        found[name] = Partition(name, default, parts[4] == "up", nodes, per_node, idle, total)
    return list(found.values())


def cluster_name(scontrol_config: str) -> str:
    """ClusterName from `scontrol show config`."""
    for line in scontrol_config.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "ClusterName":
            return value.strip()
    return ""
