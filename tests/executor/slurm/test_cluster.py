"""sinfo's partitions and the cluster's name."""

from __future__ import annotations

from localrun.executor.slurm.cluster import Cluster, cluster_name, parse_sinfo


def test_partitions_are_summed_over_their_lines() -> None:
    parts = parse_sinfo("debug*|1|2|0/2/0/2|up\nbig|2|8|4/4/0/8|up\nbig|1|16|0/16/0/16|up\n")
    cluster = Cluster("c", parts)
    debug, big = cluster.partition(""), cluster.partition("big")
    assert debug is not None and debug.name == "debug" and debug.default
    assert big is not None and (big.nodes, big.cores_per_node, big.idle_cores) == (3, 16, 20)
    assert cluster.partition("nope") is None
    assert cluster.json()["idle_cores"] == 22 and cluster.json()["nodes"] == 4


def test_cluster_name_from_the_config() -> None:
    assert cluster_name("ClusterName             = localrun\nOther = 1\n") == "localrun"
    assert cluster_name("") == ""
