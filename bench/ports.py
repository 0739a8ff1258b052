"""The one free-port helper for everything that starts real servers on loopback.

Each user keeps to a range of its own, so that a benchmark, the integration tests and the
browser tests running at once on one machine do not take each other's ports; within a range,
ports are tried in random order, which also keeps a port that a stopped server just left (its
connections in TIME_WAIT) from being the next one handed out.
"""
import random
import socket

BENCH = range(18100, 18200)  # bench/servers.py: the systems under load
LOOPBACK = range(18200, 18300)  # bench/loopback.py: workers, nginx and private redis-servers (tests/integration)
BROWSER = range(18300, 18400)  # tests/browser: the chat server and the attacker's page
HARDENING = range(18400, 18500)  # tests/hardening: real servers for the limits only they enforce


def free_ports(ports, count=1, taken=()):
    """`count` ports of the range `ports` that nothing listens on now (checked by binding them)."""
    candidates = [port for port in ports if port not in taken]
    random.shuffle(candidates)
    found = []
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"no {count} free port(s) in {ports.start}-{ports.stop - 1}")


def free_port(ports, taken=()):
    """One port of the range `ports` that nothing listens on now."""
    return free_ports(ports, 1, taken)[0]
