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


def _headers(**kwargs):
    message = build_email(
        Settings(rac_env="test"),
        recipient="rh@cisss.demo.quebec",
        subject="Rappel",
        text="Bonjour,",
        html="<p>Bonjour,</p>",
        message_id=stable_message_id("e2", "rh@cisss.demo.quebec"),
        **kwargs,
    )
    return message_from_bytes(message.as_bytes(), policy=policy.default)


def test_every_email_says_it_was_generated_and_answers_the_person_who_handles_it():
    parsed = _headers(reply_to="Sophie Bélanger <rac@cegeplevis.demo.quebec>")
    assert parsed["Auto-Submitted"] == "auto-generated"  # RFC 3834
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["From"].addresses[0].addr_spec == "ne-pas-repondre@rac.quebec"
    (reply_to,) = parsed["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == (
        "Sophie Bélanger",
        "rac@cegeplevis.demo.quebec",
    )
    assert parsed["List-Unsubscribe"] is None and parsed["List-Unsubscribe-Post"] is None


def test_an_optional_email_carries_its_one_click_unsubscribe_link():
    url = "https://rac.example.quebec/desabonnement/k1.12.optional_reminders.abc"
    parsed = _headers(list_unsubscribe=url)
    assert parsed["List-Unsubscribe"].strip() == f"<{url}>"  # folded onto its own line
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058
    assert parsed["Reply-To"] is None  # nobody to answer: replies reach the sender
    assert parsed["Auto-Submitted"] == "auto-generated"
