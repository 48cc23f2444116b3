"""A local SMTP server for ``make run``: every e-mail lands in ``var/mail`` (a maildir).

Production and docker-compose use a real SMTP server (Mailpit there); this keeps the
embedded default working with nothing installed.
"""

from __future__ import annotations

import asyncio
import mailbox
import time

from aiosmtpd.controller import Controller

from rac_shared.settings import get_settings


class MaildirHandler:
    def __init__(self, path, pace: float = 0.0):
        self.maildir = mailbox.Maildir(path, create=True)
        self.pace = pace

    async def handle_DATA(self, server, session, envelope):
        if self.pace:
            # A slow mail server, on purpose: tests that stop a sender in the middle of a
            # burst pace it instead of racing a machine of unknown speed.
            await asyncio.sleep(self.pace)
        self.maildir.add(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def run(port: int = 1025, pace: float = 0.0) -> None:
    path = get_settings().var_dir / "mail"
    path.parent.mkdir(parents=True, exist_ok=True)
    controller = Controller(MaildirHandler(path, pace), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"Serveur SMTP local sur 127.0.0.1:{port}; courriels dans {path}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()
