#!/usr/bin/python3
"""Capturing SMTP server for the ssprd tests (Debian's python3-aiosmtpd), loopback only.

  smtp_sink.py serve --host H --port P --tls-port T --cert C --key K --maildir M \
                     --tmpdir TMP --user U --password-file F --pidfile PID
  smtp_sink.py probe --host H --port P --tls-port T --ca CA

serve runs two listeners that share one handler:
  * P: plain SMTP that requires STARTTLS before anything else, then AUTH (LOGIN or PLAIN) as U
    with the password in F, before MAIL;
  * T: implicit TLS (SMTPS); AUTH is offered but optional.
Each accepted message is written, as received, to M as one file NAME.eml (written in TMP, then
renamed, so readers never see half a file), with trace fields on top as an MTA would add them:
Return-Path, Delivered-To, Received (ESMTPS / ESMTPSA per RFC 3848) and X-Sink-Listener,
X-Sink-TLS, X-Sink-Auth for simple assertions.

Recipients that make it fail on purpose (by local part; the rest of the address makes each test's
recipient unique):
  tempfail*@...  451 4.3.0 on the first RCPT for that exact address, 250 afterwards
  reject*@...    550 5.1.1 always
The PID is written to --pidfile once both listeners accept connections. SIGTERM or SIGINT stops
the server cleanly. probe exits 0 when both listeners answer (STARTTLS and TLS verified with CA).
"""

import argparse
import asyncio
import email.utils
import hmac
import logging
import os
import signal
import smtplib
import ssl
import sys
import threading
import time

LOG = logging.getLogger("smtp_sink")


class Sink:
    """aiosmtpd handler: the failure switches and the maildir writer."""

    def __init__(self, maildir, tmpdir):
        self.maildir = maildir
        self.tmpdir = tmpdir
        self.tempfailed = set()
        self.lock = threading.Lock()
        self.seq = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            LOG.info("RCPT %s: 550 (reject*)", address)
            return "550 5.1.1 Mailbox unavailable (test sink: reject*)"
        if local.startswith("tempfail"):
            with self.lock:
                first = address not in self.tempfailed
                self.tempfailed.add(address)
            if first:
                LOG.info("RCPT %s: 451 (tempfail*, first time)", address)
                return "451 4.3.0 Try again later (test sink: tempfail*)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        tls = ssl_object.version() if ssl_object is not None else "none"
        user = None
        if session.authenticated and session.auth_data is not None:
            login = getattr(session.auth_data, "login", None)
            if isinstance(login, bytes):
                user = login.decode("utf-8", "replace")
        listener = getattr(server, "sink_listener", "?")
        protocol = "ESMTP" + ("S" if ssl_object is not None else "") + ("A" if user else "")
        now = email.utils.formatdate(localtime=False)
        peer = session.peer[0] if session.peer else "?"
        with self.lock:
            self.seq += 1
            seq = self.seq
        trace = [f"Return-Path: <{envelope.mail_from}>"]
        trace += [f"Delivered-To: {rcpt}" for rcpt in envelope.rcpt_tos]
        trace += [
            f"Received: from {session.host_name} ([{peer}]) by ssprd-test-sink with {protocol}"
            f" id {seq}; {now}",
            f"X-Sink-Listener: {listener}",
            f"X-Sink-TLS: {tls}",
            f"X-Sink-Auth: {user or 'none'}",
        ]
        content = envelope.original_content
        data = ("\r\n".join(trace) + "\r\n").encode("ascii", "replace") + content
        name = f"{time.time_ns()}-{os.getpid()}-{seq:06d}.eml"
        tmp = os.path.join(self.tmpdir, name)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.maildir, name))
        LOG.info("stored %s for %s via %s (%s, auth %s)", name, ",".join(envelope.rcpt_tos),
                 listener, tls, user or "none")
        return "250 2.0.0 Message accepted"


def make_authenticator(user, password):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and hmac.compare_digest(auth_data.login, user)
              and hmac.compare_digest(auth_data.password, password))
        LOG.info("AUTH %s as %r: %s", mechanism,
                 auth_data.login if isinstance(auth_data, LoginPassword) else None,
                 "ok" if ok else "refused")
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


def serve(args):
    from aiosmtpd.smtp import SMTP

    with open(args.password_file, "rb") as f:
        password = f.read().rstrip(b"\r\n")
    user = args.user.encode()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Sink(args.maildir, args.tmpdir)
    authenticator = make_authenticator(user, password)

    def factory(listener):
        def make():
            common = dict(hostname="ssprd-test-sink", ident="ssprd test sink", timeout=30,
                          authenticator=authenticator, loop=loop)
            if listener == "starttls":
                smtp = SMTP(handler, tls_context=context, require_starttls=True,
                            auth_required=True, auth_require_tls=True, **common)
            else:
                # The socket is TLS already; aiosmtpd only knows about STARTTLS, so it must not
                # insist on it before AUTH.
                smtp = SMTP(handler, auth_required=False, auth_require_tls=False, **common)
            smtp.sink_listener = listener
            return smtp

        return make

    servers = [
        loop.run_until_complete(loop.create_server(factory("starttls"), args.host, args.port)),
        loop.run_until_complete(
            loop.create_server(factory("implicit"), args.host, args.tls_port, ssl=context)),
    ]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with open(args.pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(args.pidfile + ".tmp", args.pidfile)
    LOG.info("listening on %s:%d (STARTTLS+AUTH) and %s:%d (implicit TLS)", args.host, args.port,
             args.host, args.tls_port)
    loop.run_until_complete(stop.wait())
    for server in servers:
        server.close()
    for server in servers:
        loop.run_until_complete(server.wait_closed())
    LOG.info("stopped")
    return 0


def probe(args):
    context = ssl.create_default_context(cafile=args.ca)
    try:
        with smtplib.SMTP(args.host, args.port, timeout=5) as s:
            s.starttls(context=context)
            s.ehlo()
            if not s.has_extn("auth"):
                print("probe: no AUTH after STARTTLS", file=sys.stderr)
                return 1
        with smtplib.SMTP_SSL(args.host, args.tls_port, timeout=5, context=context) as s:
            s.ehlo()
    except (OSError, smtplib.SMTPException) as e:
        print(f"probe: {e}", file=sys.stderr)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    p = sub.add_parser("probe")
    for a in (s, p):
        a.add_argument("--host", default="127.0.0.1")
        a.add_argument("--port", type=int, required=True)
        a.add_argument("--tls-port", type=int, required=True)
    for name in ("--cert", "--key", "--maildir", "--tmpdir", "--user", "--password-file",
                 "--pidfile"):
        s.add_argument(name, required=True)
    p.add_argument("--ca", required=True)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("loopback addresses only")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiosmtpd logs every command at INFO, and warns on each AUTH that its own legacy
    # Session.login_data is deprecated; its errors are enough.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    return serve(args) if args.command == "serve" else probe(args)


if __name__ == "__main__":
    sys.exit(main())
