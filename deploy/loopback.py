"""Moved. The loopback topology is bench/loopback.py (`python -m bench.loopback up`); the nginx
site for production is rendered by deploy/nginx.py.

This name stays only so that bench/layers_compare.py, a study that moves together with
chatsite/layers.py (issue 13), keeps importing; delete this file when it has moved.
"""
if __name__ == "__main__":
    raise SystemExit(__doc__)

from bench.loopback import (  # noqa: E402, F401
    RedisServer,
    Topology,
    database_create,
    database_drop,
    venv_python,
)


def free_ports(count, taken=()):
    from bench import ports

    return ports.free_ports(ports.LOOPBACK, count, taken)
