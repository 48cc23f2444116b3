"""Documents of the evaluation, in French on the ministry's letterhead: the designation
letter, the non-designation letter (criterion by criterion, the score against the
threshold), and the committee's report (PDF) and matrix (CSV)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy.orm import object_session

from rac_shared.clock import clock
from rac_shared.contracts.scoring import MAX_PER_ORDER
from rac_shared.formatting import long_date
from rac_shared.french import enumeration, named, ordinal, plural, salutation
from rac_shared.ministries import Ministry
from rac_shared.pdf import render_pdf
from rac_shared.templating import make_environment
from services.scoring import grading, ministries
from services.scoring.designation import (
    MANDATE_PARTS,
    designated_in,
    latest_recommendations,
    ranking,
)
from services.scoring.models import DESIGNATED, Evaluation
from services.scoring.records import grid_of
from services.scoring.views import criterion_view

templates = make_environment(Path(__file__).parent / "templates")


def _criteria(evaluation: Evaluation) -> list[dict]:
    results = {r.criterion_id: r for r in evaluation.results}
    return [
        {
            **criterion_view(c),
            "score_display": grading.points(results[c.id].score),
            "met": results[c.id].met,
        }
        for c in grid_of(evaluation.committee)
        if c.id in results
    ]


def non_designation_reasons(evaluation: Evaluation) -> list[str]:
    """Why the application was not designated, in the words of the letter."""
    reasons = []
    results = {r.criterion_id: r for r in evaluation.results}
    for criterion in grid_of(evaluation.committee):
        result = results.get(criterion.id)
        if result is not None and not result.met:
            reasons.append(
                f"Le critère « {criterion.label} » obtient {grading.points(result.score)} "
                f"{plural(result.score or 0, 'point', with_count=False)} sur {criterion.weight}, "
                f"sous son seuil de réussite de "
                f"{criterion.threshold}."
            )
    if evaluation.total is not None and evaluation.total < evaluation.overall_threshold:
        reasons.append(
            f"Le total pondéré de {grading.points(evaluation.total)} sur 100 est inférieur au "
            f"seuil global de {grading.points(evaluation.overall_threshold)}."
        )
    if not reasons:
        reasons.append(_qualified_but_not_designated(evaluation))
    return reasons


def _qualified_but_not_designated(evaluation: Evaluation) -> str:
    """The reason of an application that passed every threshold, from the ranking: the
    order's places went to higher-ranked applicants (named, with their ranks), or the
    committee did not recommend it, or the minister decided otherwise than recommended."""
    committee = evaluation.committee
    order = evaluation.education_order
    places = {p.key: p.rank for p in ranking(committee).get(order, [])}
    rank = places.get(evaluation.id)
    minister = ministries.at(object_session(evaluation), evaluation.decision_date).minister
    sentence = "La demande atteint tous les seuils de réussite"
    if rank is not None:
        sentence += f" et se classe au {ordinal(rank)} rang de {grading.order_phrase(order)}"
    ahead = sorted(
        (
            e
            for e in designated_in(committee, order)
            if e.id != evaluation.id and places.get(e.id, rank or 0) < (rank or 0)
        ),
        key=lambda e: places[e.id],
    )
    if rank is not None and len(ahead) >= MAX_PER_ORDER:
        named_places = enumeration(
            f"{named(e.organisation_name).le} ({ordinal(places[e.id])} rang)" for e in ahead
        )
        return (
            f"{sentence}. Au plus trois établissements sont désignés par ordre "
            f"d'enseignement : les trois places de cet ordre sont allées aux "
            f"établissements mieux classés, {named_places}."
        )
    session = object_session(evaluation)
    recommendation = latest_recommendations(session, committee).get(order) if session else None
    if recommendation is not None and evaluation.id in recommendation.evaluation_ids:
        return (
            f"{sentence} et le comité d'évaluation l'a recommandée; {minister} a toutefois "
            "décidé de ne pas la désigner."
        )
    return f"{sentence}, mais le comité d'évaluation ne l'a pas recommandée à {minister}."


def letter_html(
    evaluation: Evaluation, recipient: dict | None = None, organisation: dict | None = None
) -> str:
    """The decision letter. ``recipient`` is the directory's director general of the
    institution (addressed by name, title and form of address), ``organisation`` its
    directory record (its article); both are unknown for the archives of 2013."""
    committee = evaluation.committee
    form = (recipient or {}).get("form_of_address")
    title = (recipient or {}).get("title") or None
    greeting = salutation(form, title) if recipient else salutation(None)
    context = {
        "e": evaluation,
        "recipient": recipient,
        "organisation": named(organisation or evaluation.organisation_name),
        "salutation": greeting,
        "addressed_as": greeting.removesuffix(","),  # in the closing formula
        "call_title": committee.call_title,
        "decision_date": long_date(evaluation.decision_date),
        "ministry": ministries.at(object_session(evaluation), evaluation.decision_date),
        "produced_on": long_date(clock.today()),
        "criteria": _criteria(evaluation),
        "total": grading.points(evaluation.total),
        "overall_threshold": grading.points(evaluation.overall_threshold),
        "overall_met": evaluation.total is not None
        and evaluation.total >= evaluation.overall_threshold,
        "years": list(committee.experimentation_years),
    }
    if evaluation.decision == DESIGNATED:
        template = "letter_designation.html.j2"
        context["mandate_parts"] = list(MANDATE_PARTS.values())
        context["below_threshold"] = not evaluation.qualified
    else:
        template = "letter_non_designation.html.j2"
        context["reasons"] = non_designation_reasons(evaluation)
    return templates.get_template(template).render(**context)


def letter_filename(evaluation: Evaluation) -> str:
    kind = "designation" if evaluation.decision == DESIGNATED else "non-designation"
    return f"lettre-{kind}-{evaluation.reference}.pdf"


def render_letter(
    evaluation: Evaluation, recipient: dict | None = None, organisation: dict | None = None
) -> bytes:
    return render_pdf(letter_html(evaluation, recipient, organisation))


def report_html(view: dict, ministry: Ministry) -> str:
    return templates.get_template("committee_report.html.j2").render(
        v=view, produced_on=long_date(clock.today()), ministry=ministry
    )


def matrix_csv(view: dict) -> str:
    """The committee's matrix, one line per application (UTF-8 with BOM, semicolons, French
    decimals). Each evaluator's scores appear only once the application is consolidated."""

    def fr(value: str | None) -> str:
        return "" if value is None else grading.points(grading.round_score(value))

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    header = ["Ordre d'enseignement", "Établissement", "Référence", "Statut"]
    for index, criterion in enumerate(view["criteria"], start=1):
        name = (
            f"C{index} {criterion['label'][:40]} ({criterion['weight']}/{criterion['threshold']})"
        )
        header += [
            f"{name} — note consolidée",
            f"{name} — notes des évaluateurs",
            f"{name} — seuil atteint",
            f"{name} — écart signalé",
        ]
    header += [
        "Total sur 100",
        "Seuil global",
        "Tous les seuils atteints",
        "Rang",
        "Proposée",
        "Décision",
        "Date de la décision",
    ]
    writer.writerow(header)
    places = {
        row["evaluation_id"]: row for ranked in view["ranking"].values() for row in ranked["ranked"]
    }
    yes_no = {True: "oui", False: "non", None: ""}
    for e in view["evaluations"]:
        line = [e["education_order"], e["organisation_name"], e["reference"], e["status_label"]]
        for cell in e["cells"]:
            individual = ""
            if cell["scores"] is not None:
                individual = " | ".join(
                    f"{s['evaluator_name']} : {fr(s['score'])}" for s in cell["scores"]
                )
            line += [fr(cell["score"]), individual, yes_no[cell["met"]], yes_no[cell["flagged"]]]
        place = places.get(e["id"])
        line += [
            fr(e["total"]),
            fr(e["overall_threshold"]),
            yes_no[e["qualified"]],
            str(place["rank"]) if place else "",
            yes_no[place["proposed"]] if place else "",
            e["decision_label"] or "",
            e["decision_date"] or "",
        ]
        writer.writerow(line)
    return out.getvalue()
