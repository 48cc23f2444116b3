"""The e-mail as it leaves the platform: headers, parts, and names that try to break them."""

from __future__ import annotations

from email import message_from_bytes, policy

from rac_shared.settings import Settings
from services.notifications.mailer import build_email, stable_message_id


def test_a_line_break_in_a_name_cannot_add_a_header():
    message = build_email(
        Settings(rac_env="test"),
        recipient="rh@cisss.demo.quebec",
        subject="Plan émis par Cégep\r\nBcc: pirate@exemple.com\n de Lévis",
        text="Bonjour,",
        html="<p>Bonjour,</p>",
        message_id=stable_message_id("e1", "rh@cisss.demo.quebec"),
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Plan émis par Cégep Bcc: pirate@exemple.com de Lévis"
    assert parsed["Bcc"] is None
    assert [part.get_content_type() for part in parsed.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
