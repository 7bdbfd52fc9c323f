"""Fake GCE metadata server for the NixOS VM tests.

Serves instance attributes from files in STATE/attributes (with
wait_for_change and ETags), stores guest attributes written with PUT in
STATE/guest-attributes/<namespace>/<key>, and appends every write to
STATE/guest-attributes.log so tests can check their order. Also answers the
service account's access token and, as Secret Manager would under /v1,
`projects/P/secrets/S/versions/V:access` with the content of STATE/secrets/S.
Usage: fake-metadata.py STATE ADDRESS PORT
"""

import base64
import hashlib
import json
import os
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

STATE, ADDRESS, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
ATTRIBUTES = os.path.join(STATE, "attributes")
GUEST = os.path.join(STATE, "guest-attributes")
HISTORY = os.path.join(STATE, "guest-attributes.log")
ATTRIBUTE_PREFIX = "/computeMetadata/v1/instance/attributes/"
GUEST_PREFIX = "/computeMetadata/v1/instance/guest-attributes/"
TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"
ACCESS_TOKEN = "ya29.fake-vm-token"
SECRETS = os.path.join(STATE, "secrets")
LONGEST_WAIT = 20.0


def read_attribute(key):
    try:
        with open(os.path.join(ATTRIBUTES, key), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def etag_of(value):
    return hashlib.sha256(value).hexdigest()[:16]


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body=b"", headers=None):
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def has_flavor(self):
        if self.headers.get("Metadata-Flavor") == "Google":
            return True
        self.reply(403, b"Missing Metadata-Flavor: Google header\n")
        return False

    def do_GET(self):
        url = urlparse(self.path)
        # A header-free path, so a blocked request cannot pass as a 403.
        if url.path == "/probe":
            self.reply(200, b"metadata server reached\n")
            return
        if url.path.startswith("/v1/projects/") and url.path.endswith(":access"):
            self.access_secret(url.path)
            return
        if not self.has_flavor():
            return
        if url.path == TOKEN_PATH:
            token = {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}
            self.reply(200, json.dumps(token).encode())
            return
        if not url.path.startswith(ATTRIBUTE_PREFIX):
            self.reply(200, b"fake metadata server\n")
            return
        key = url.path[len(ATTRIBUTE_PREFIX):]
        query = parse_qs(url.query)
        value = read_attribute(key)
        if query.get("wait_for_change") == ["true"]:
            last_etag = query.get("last_etag", [None])[0]
            timeout = min(float(query.get("timeout_sec", [LONGEST_WAIT])[0]), LONGEST_WAIT)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and (value is None or etag_of(value) == last_etag):
                time.sleep(0.2)
                value = read_attribute(key)
        if value is None:
            self.reply(404, b"not found\n")
            return
        self.reply(200, value, {"ETag": etag_of(value)})

    def access_secret(self, path):
        if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            self.reply(401, b'{"error": {"code": 401}}')
            return
        secret = path.split("/")[5]
        try:
            with open(os.path.join(SECRETS, secret), "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            self.reply(404, b'{"error": {"code": 404}}')
            return
        payload = {"data": base64.b64encode(data).decode(), "dataCrc32c": "0"}
        self.reply(200, json.dumps({"name": path[4:-len(":access")], "payload": payload}, indent=2).encode())

    def do_PUT(self):
        if not self.has_flavor():
            return
        url = urlparse(self.path)
        if not url.path.startswith(GUEST_PREFIX):
            self.reply(404, b"not found\n")
            return
        namespace, _, key = url.path[len(GUEST_PREFIX):].partition("/")
        value = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        os.makedirs(os.path.join(GUEST, namespace), exist_ok=True)
        with open(os.path.join(GUEST, namespace, key), "wb") as handle:
            handle.write(value)
        with open(HISTORY, "ab") as handle:
            handle.write(f"{namespace}/{key}=".encode() + value + b"\n")
        self.reply(200)


class Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in ADDRESS else socket.AF_INET


Server((ADDRESS, PORT), Handler).serve_forever()
