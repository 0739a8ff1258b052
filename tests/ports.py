"""Free loopback ports for tests that start real servers; each suite keeps to its own range."""
import random
import socket


def free_port(ports):
    """A port in `ports` that nothing listens on now (tried in random order)."""
    candidates = list(ports)
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")
