"""Render the production nginx site from deploy/nginx.conf.template: what an operator runs once.

    .venv/bin/python deploy/nginx.py --listen "443 ssl" --server-name chat.example.com \\
        --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002 --static-root /srv/chatsite/static \\
        --ssl-certificate /etc/letsencrypt/live/chat.example.com/fullchain.pem \\
        --ssl-certificate-key /etc/letsencrypt/live/chat.example.com/privkey.pem \\
        > /etc/nginx/sites-available/chatsite

The loopback topology of the tests and benchmarks (bench/loopback.py) renders its nginx site with
the same function, so they run the template production runs. Standard library only.
"""
import argparse
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"


def render_site(*, listen, server_name, upstreams, static_root, tls=""):
    servers = "\n".join(f"    server {address} max_fails=1 fail_timeout=5s;" for address in upstreams)
    text = TEMPLATE.read_text()
    for key, value in {
        "listen": listen, "server_name": server_name, "upstream_servers": servers.strip(),
        "static_root": str(static_root).rstrip("/"), "tls": tls,
    }.items():
        text = text.replace("{{ " + key + " }}", value)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="80")
    parser.add_argument("--server-name", default="_")
    parser.add_argument("--upstream", action="append", help="host:port of a worker (repeat)")
    parser.add_argument("--static-root", default="/srv/chatsite/static")
    parser.add_argument("--ssl-certificate")
    parser.add_argument("--ssl-certificate-key")
    args = parser.parse_args(argv)
    upstreams = args.upstream or ["127.0.0.1:8001", "127.0.0.1:8002"]
    tls = ""
    if args.ssl_certificate:
        # HSTS comes from Django (SECURE_HSTS_SECONDS), so nginx does not add it twice.
        tls = f"ssl_certificate {args.ssl_certificate};\n    ssl_certificate_key {args.ssl_certificate_key};"
    site = render_site(listen=args.listen, server_name=args.server_name, upstreams=upstreams,
                       static_root=args.static_root, tls=tls)
    if args.ssl_certificate:
        site += (f"\n# Plain http only redirects.\nserver {{\n    listen 80;\n    server_name {args.server_name};\n"
                 "    return 301 https://$host$request_uri;\n}\n")
    sys.stdout.write(site)


if __name__ == "__main__":
    main()
