"""Fake GitLab coordinator for the NixOS VM tests.

Answers what a runner manager asks with a glrt- token: verify, job requests
(never a job), unregistering. Appends "METHOD PATH" for every request to LOG.
Usage: fake-gitlab.py ADDRESS PORT LOG
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADDRESS, PORT, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with open(LOG, "a") as handle:
            handle.write(f"{self.command} {self.path.split('?')[0]}\n")
        return body

    def reply(self, code, payload=None):
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.record()
        path = self.path.split("?")[0]
        if path == "/api/v4/runners/verify":
            token = json.loads(body or b"{}").get("token", "")
            if not token.startswith("glrt-"):
                self.reply(403, {"message": "403 Forbidden"})
                return
            self.reply(200, {"id": 1, "token": token, "token_expires_at": None})
        elif path == "/api/v4/jobs/request":
            self.reply(204)
        else:
            self.reply(404, {"message": "404 Not Found"})

    def do_DELETE(self):
        self.record()
        self.reply(204)

    def do_GET(self):
        self.record()
        self.reply(404, {"message": "404 Not Found"})


ThreadingHTTPServer((ADDRESS, PORT), Handler).serve_forever()
