"""Retention under Loi 25 over the whole platform (real RabbitMQ and PostgreSQL, the demo's
data): the retention job run by two processes at once anonymises the demo's recently
declined plan once, on the day its two years have run out and not before; its PDF is gone
with a French reason; an access request exported from the page is a JSON download, recorded
in the institution's register."""

from __future__ import annotations

import html
import json
import re
import subprocess
from datetime import date, datetime, timedelta

import pytest
import requests
from sqlalchemy import text

from rac_shared.clock import clock, local
from tests.support.platform import BIN

pytestmark = pytest.mark.integration

COORDINATOR = "rac@cegeplevis.demo.quebec"
JOB = "personal-information-retention"


def run_twice_at_once(platform, as_of) -> list[dict]:
    """Two replicas' runs of the job for one day, started together."""
    command = [str(BIN / "rac"), "jobs", "run", JOB, "--as-of", as_of.isoformat()]
    runs = [
        subprocess.Popen(
            command, env=platform.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=180)
        assert run.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_replicas_anonymise_an_ended_plan_once_on_its_day(platform):
    token = platform.token(COORDINATOR)
    rows = platform.api("GET", "/api/plans", token).json()["items"]
    declined = next(
        r for r in rows if r["status"] == "declined" and r["program"].endswith("(LCA.EM)")
    )
    view = platform.api("GET", f"/api/plans/{declined['id']}", token).json()
    assert view["anonymised_on"] is None
    # The day in Montréal, as the retention rule counts it (the instant's UTC date is the
    # next day every evening from 19 h or 20 h).
    declined_on = local(datetime.fromisoformat(view["version"]["declined_at"])).date()
    assert declined_on <= clock.today()
    due = _add_two_years(declined_on)

    # The day before, the plan is kept (the demo's plan cancelled before it was declined may
    # be anonymised then: its own day comes first).
    run_twice_at_once(platform, due - timedelta(days=1))
    kept = platform.api("GET", f"/api/plans/{declined['id']}", token).json()
    assert kept["anonymised_on"] is None
    on_the_day = run_twice_at_once(platform, due)
    assert sum(r["anonymised"] for r in on_the_day) == 1  # one replica did it
    again = run_twice_at_once(platform, due)
    assert [(r["examined"], r["anonymised"], r["retention_months"]) for r in again] == [
        (0, 0, 24)
    ] * 2

    with platform.engine("plans").connect() as connection:
        records = connection.execute(
            text("SELECT count(*) FROM privacy_records WHERE plan_id = :p AND kind = 'anonymised'"),
            {"p": declined["id"]},
        ).scalar_one()
        events = connection.execute(
            text(
                "SELECT count(*) FROM outbox WHERE event_type = 'plan.anonymised' "
                "AND CAST(body AS TEXT) LIKE :p"
            ),
            {"p": f'%"plan_id": {declined["id"]},%'},
        ).scalar_one()
    assert (records, events) == (1, 1)

    view = platform.api("GET", f"/api/plans/{declined['id']}", token).json()
    assert view["anonymised_on"] == due.isoformat()
    assert [c["full_name"] for c in view["content"]["candidates"]] == ["Personne candidate 1"]
    assert "Olivier Paradis" not in json.dumps(view, ensure_ascii=False)
    pdf = platform.api("GET", f"/api/plans/{declined['id']}/pdf", token)
    assert pdf.status_code == 404
    assert "détruit" in pdf.json()["error"]["message"]


def _add_two_years(day: date) -> date:
    from dateutil.relativedelta import relativedelta

    return day + relativedelta(months=24)


def test_an_access_request_from_the_page_downloads_json_and_is_in_the_register(platform):
    browser = requests.Session()
    browser.cookies.set("rac_session", platform.session_cookie(COORDINATOR))
    page = browser.get(f"{platform.url}/plans/renseignements-personnels", timeout=60)
    assert page.status_code == 200
    register = html.unescape(page.text)
    # The demo's: an anonymisation by the rule, an access request.
    assert "Renseignements personnels anonymisés (règle de conservation)" in register
    assert "marie-eve.gagnon@exemple.quebec — 1 plan" in register

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    exported = browser.post(
        f"{platform.url}/plans/renseignements-personnels",
        data={"csrf_token": csrf, "email": "karine.lapointe@exemple.quebec"},
        timeout=60,
    )
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("application/json")
    assert "renseignements-personnels-" in exported.headers["Content-Disposition"]
    export = exported.json()
    assert export["full_name"] == "Karine Lapointe"
    assert [p["reference"] for p in export["plans"]] and all(
        v["email"] == "karine.lapointe@exemple.quebec"
        for p in export["plans"]
        for v in p["versions"]
    )
    register = html.unescape(
        browser.get(f"{platform.url}/plans/renseignements-personnels", timeout=60).text
    )
    assert "karine.lapointe@exemple.quebec — 1 plan" in register

    refused = browser.post(
        f"{platform.url}/plans/renseignements-personnels",
        data={"csrf_token": csrf, "email": "pas un courriel"},
        timeout=60,
    )
    assert refused.status_code == 422
    assert "Courriel de la personne candidate" in html.unescape(refused.text)
