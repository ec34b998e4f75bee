#!/usr/bin/env python3
"""A real OpenID Connect provider for tests: PyPI `oidc-provider-mock` (authlib's OIDC
server behind Flask) on 127.0.0.1 and a port of its own, nonces required. Prints
`ready PORT` once it listens. Users and their claims are set with
`PUT /users/{sub}` (JSON claims); a sign-in is its authorization form posted with `sub`.

    python3 oidc_provider.py
"""

import os
import sys

# authlib refuses plain-HTTP endpoints unless told: the tests run on loopback.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import werkzeug.serving  # noqa: E402
from oidc_provider_mock import app  # noqa: E402

server = werkzeug.serving.make_server("127.0.0.1", 0, app(require_nonce=True), threaded=True)
print(f"ready {server.server_port}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
