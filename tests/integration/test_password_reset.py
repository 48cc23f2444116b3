"""The password-reset path crosses every shared mechanism: gateway outbox → relay →
RabbitMQ → notifications (idempotent) → SMTP; then the link changes the password."""

import re
import time

from sqlalchemy import text


def test_reset_link_arrives_by_email_and_changes_the_password(platform):
    response = platform.api(
        "POST", "/api/auth/password-reset", json={"email": "rac@cegeplevis.demo.quebec"}
    )
    assert response.status_code == 202

    def reset_mails():
        return [
            m
            for m in platform.mails_to("rac@cegeplevis.demo.quebec")
            if m["Subject"] == "Réinitialisation de votre mot de passe"
        ]

    deadline = time.monotonic() + 30
    while not reset_mails() and time.monotonic() < deadline:
        time.sleep(0.2)
    [mail] = reset_mails()
    assert mail["To"] == "rac@cegeplevis.demo.quebec"
    assert mail["Subject"] == "Réinitialisation de votre mot de passe"
    assert mail["Message-ID"].endswith("@rac.quebec>")
    text_part = mail.get_body(preferencelist=("plain",)).get_content()
    html_part = mail.get_body(preferencelist=("html",)).get_content()
    assert "Bonjour Sophie Bélanger" in text_part
    assert "ne peut servir qu'une fois" in html_part.replace("&#39;", "'")
    link = re.search(r"(/mot-de-passe/reinitialiser/[\w-]+)", text_part).group(1)

    # The form needs the CSRF token of the browser's session.
    session = __import__("requests").Session()
    form = session.get(platform.url + link)
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    changed = session.post(
        platform.url + link,
        data={
            "csrf_token": csrf,
            "password": "un-nouveau-mot-de-passe",
            "confirmation": "un-nouveau-mot-de-passe",
        },
        allow_redirects=False,
    )
    assert changed.status_code == 303

    assert platform.token("rac@cegeplevis.demo.quebec", "un-nouveau-mot-de-passe")
    old = platform.api(
        "POST",
        "/api/auth/token",
        json={"email": "rac@cegeplevis.demo.quebec", "password": "rac-demo-2026"},
    )
    assert old.status_code == 401
    # The link works once.
    again = session.post(
        platform.url + link,
        data={
            "csrf_token": csrf,
            "password": "encore-un-autre-mdp",
            "confirmation": "encore-un-autre-mdp",
        },
    )
    assert again.status_code == 422
    assert "invalide ou expiré" in again.text


def test_unknown_address_gets_the_same_answer_and_no_email(platform):
    response = platform.api(
        "POST", "/api/auth/password-reset", json={"email": "personne@nulle-part.quebec"}
    )
    assert response.status_code == 202
    with platform.engine("gateway").connect() as connection:
        pending = connection.execute(
            text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
        ).scalar()
    assert pending == 0
    time.sleep(1)
    assert platform.mails_to("personne@nulle-part.quebec") == []
