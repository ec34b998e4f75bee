# The real HTTP server of node-agent/tests/http_faults.rs: Python's http.server, HTTP/1.1
# with keep-alive, answering every GET with a JSON body and an `X-Server: real` header.
# With a certificate and key file as third and fourth arguments it serves HTTPS.
import json
import socket
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = json.dumps({"status": "ok", "path": self.path, "server": "python"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Server", "real")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    # An IPv6 address (`::` too) makes an IPv6 socket; Linux lets `::` take IPv4 as well.
    address_family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET

    def handle_error(self, request, client_address):
        # The faults cut connections on purpose (a reset, SOCK_DESTROY at injection).
        pass


server = Server((sys.argv[1], int(sys.argv[2])), Handler)
if len(sys.argv) > 4:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[3], sys.argv[4])
    # HTTP/1.1 only, said in ALPN: the proxy must keep a client that offers h2 on it.
    tls.set_alpn_protocols(["http/1.1"])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
server.serve_forever()
