"""A real SMTP server for the notification tests: aiosmtpd on the socket it is given that
writes each message it accepts to OUTDIR as JSON (headers decoded by Python's email
package, both parts, and the raw message), so the Rust test can assert what a mail client
shows.

    python3 smtp_sink.py OUTDIR  <&BOUND_SOCKET

Stdin is a TCP socket the test bound but did not listen on (crate faultline-test-support,
`ports::Reserved`): until this script listens, clients are refused as by a server that is
down, and no other process can take the port meanwhile. It prints "ready" once it serves.
"""
import asyncio
import email
import json
import os
import signal
import socket
import sys
from email import policy

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=policy.default)
        parts = {}
        for part in msg.walk():
            ct = part.get_content_type()
            if ct in ("text/plain", "text/html"):
                parts[ct] = part.get_content()
        head = raw.split(b"\r\n\r\n", 1)[0]
        date = msg["date"]
        out = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "message_id": str(msg["message-id"]),
            "date": str(date),
            "date_parsed": bool(date is not None and date.datetime is not None),
            "content_type": msg.get_content_type(),
            "parts": parts,
            "headers_ascii": all(b < 128 for b in head),
            "raw": raw.decode("ascii", "replace"),
        }
        self.count += 1
        tmp = os.path.join(self.outdir, ".%03d.tmp" % self.count)
        with open(tmp, "w") as f:
            json.dump(out, f)
        os.rename(tmp, os.path.join(self.outdir, "%03d.json" % self.count))
        return "250 Message accepted for delivery"


def main():
    outdir = sys.argv[1]
    # Python's sys.stdin does not close fd 0 (std streams are opened with closefd=False),
    # so the socket object owns it.
    sock = socket.socket(fileno=0)
    sock.listen(64)
    sink = Sink(outdir)
    loop = asyncio.new_event_loop()
    # aiosmtpd's Controller binds by itself; its SMTP protocol is what it would serve.
    loop.run_until_complete(loop.create_server(lambda: SMTP(sink, loop=loop), sock=sock))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    print("ready", flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
