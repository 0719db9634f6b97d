"""A real SMTP server on loopback, as the end-to-end tests' mail sink.

`MailSink` runs aiosmtpd (Debian's python3-aiosmtpd, installed by
scripts/deps.sh) in this process on a free loopback port, keeps every
message it accepts, and can be told to misbehave the ways a real server
does: refuse the recipient (550), ask to come back later (421), refuse
the message after DATA (451), or be down altogether. With a user name it
requires AUTH PLAIN or LOGIN (over the plain connection: loopback only).
"""

import email
import email.policy
import logging
import socket
import sys
import threading
import warnings

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:
    # The Python running the tests may not be Debian's, whose packages
    # hold aiosmtpd (pure Python, like its dependencies).
    sys.path.append("/usr/lib/python3/dist-packages")
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult


# Plain AUTH is what these tests want, on loopback: no warning for it.
warnings.filterwarnings("ignore", message="Requiring AUTH while not")
logging.getLogger("mail.log").setLevel(logging.ERROR)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What the sink answers in each mode, and at which step.
ANSWERS = {
    "refuse": ("RCPT", "550 5.1.1 mailbox unavailable"),
    "busy": ("RCPT", "421 4.3.2 service not available, try later"),
    "reject_data": ("DATA", "451 4.3.0 message not accepted for now"),
}


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        self.sink.log("RCPT")
        answer = ANSWERS.get(self.sink.mode)
        if answer and answer[0] == "RCPT":
            return answer[1]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.sink.log("DATA")
        answer = ANSWERS.get(self.sink.mode)
        if answer and answer[0] == "DATA":
            return answer[1]
        self.sink.accept(envelope)
        return "250 Message accepted for delivery"


class _Authenticator:
    def __init__(self, sink):
        self.sink = sink

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == self.sink.username and
              auth_data.password.decode() == self.sink.password)
        self.sink.log("AUTH %s" % ("ok" if ok else "refused"))
        return AuthResult(success=ok)


class MailSink:
    def __init__(self, username=None, password=None):
        self.port = free_port()
        self.username = username
        self.password = password
        self.mode = "accept"
        self.lock = threading.Lock()
        self.raw = []        # the bytes of each message accepted
        self.envelopes = []  # (mail from, [rcpt to]) of each
        self.commands = []   # what the server saw, for the tests
        self.controller = None

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def log(self, what):
        with self.lock:
            self.commands.append(what)

    def accept(self, envelope):
        with self.lock:
            self.raw.append(envelope.original_content)
            self.envelopes.append((envelope.mail_from,
                                   list(envelope.rcpt_tos)))

    def start(self):
        kwargs = {}
        if self.username:
            kwargs = {"authenticator": _Authenticator(self),
                      "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(_Handler(self), hostname="127.0.0.1",
                                     port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self):
        """Takes the server down; start() brings it back on the port."""
        if self.controller:
            self.controller.stop()
            self.controller = None

    def messages(self):
        """The messages accepted so far, parsed."""
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(r, policy=email.policy.default)
                for r in raw]

    def count(self):
        with self.lock:
            return len(self.raw)
