#!/usr/bin/env python3
"""The demo's stand-in for api.github.com and httpbin.org, on loopback:
answers 200 "authorized with the real token" only when the request
carries the real token, which brig puts in for the placeholder.

usage: demo-api.py DIR PORT   (DIR holds srv.pem and srv.key)
"""
import http.server
import ssl
import sys

REAL = "ghp-demo-real-secret-0123456789"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        ok = self.headers.get("Authorization") == "Bearer " + REAL
        body = (b"authorized with the real token\n" if ok
                else b"unauthorized\n")
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{directory}/srv.pem", f"{directory}/srv.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
