"""``rac demo``: realistic French demo data, each service seeding its own database."""

from __future__ import annotations


def run_demo() -> str:
    from gateway import demo as gateway_demo
    from gateway.models import Base as GatewayBase
    from rac_shared.db import SessionFactory

    session = SessionFactory("gateway", GatewayBase.metadata)()
    try:
        gateway_demo.seed_accounts(session)
        session.commit()
    finally:
        session.close()
    return "Comptes de démonstration :\n" + gateway_demo.logins_table()
