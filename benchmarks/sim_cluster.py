"""A Ray cluster of several nodes on this machine, all on 127.0.0.1 (no dashboard), for trying
``--cluster`` and ``fleet`` without one:

    .venv/bin/python benchmarks/sim_cluster.py [WORKERS] [CPUS_PER_NODE]   # prints the address
    nnspeed fleet zoo:cnn --cluster 127.0.0.1:PORT

It runs until Ctrl-C.  The nodes share this machine's cores: fine for checking placement,
retries and pooling, not for timing one node against another.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep Ray on loopback


def start(workers: int = 2, cpus: int = 1, head_cpus: int | None = None):
    from ray.cluster_utils import Cluster

    c = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": cpus if head_cpus is None else head_cpus,
            "node_ip_address": "127.0.0.1",
            "include_dashboard": False,
        },
    )
    for _ in range(workers):
        c.add_node(num_cpus=cpus, node_ip_address="127.0.0.1")
    c.wait_for_nodes()
    return c


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    cluster = start(n, k)
    print(cluster.address, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        cluster.shutdown()
