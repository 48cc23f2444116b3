"""Security headers of every answer: HSTS in production only, the CSP's base and plugins."""

from __future__ import annotations

from werkzeug.test import Client

from tests.support.gateway_app import gateway_app


def headers_of(rac_env: str) -> dict:
    app = gateway_app(rpc=None)
    app.settings = app.settings.model_copy(update={"rac_env": rac_env})
    return Client(app).get("/connexion").headers


def test_production_answers_carry_hsts_and_other_environments_do_not():
    assert headers_of("production")["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains"
    )
    assert "Strict-Transport-Security" not in headers_of("test")


def test_pages_forbid_base_elements_and_plugins():
    policy = headers_of("test")["Content-Security-Policy"]
    assert "base-uri 'none'" in policy and "object-src 'none'" in policy
