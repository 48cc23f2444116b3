"""The form decoder and encoder: posted fields named by their contract path become the
model's nested data, and a model becomes the strings its form shows, without losing what
people typed (French amounts, blank rows, unchecked boxes, one item per line)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import Field, ValidationError
from werkzeug.datastructures import MultiDict

from gateway.web.forms import FormState, decode, encode, field_id, label_of
from rac_shared.contracts.base import (
    FormLines,
    Line,
    Money,
    Name,
    OptionalDate,
    Strict,
    Vocabulary,
    error_details,
)


class Modality(Vocabulary):
    IN_PERSON = "in_person", "En présence"
    ONLINE = "online", "À distance"


class Specialist(Strict):
    name: Name = Field(title="Nom")
    field: Line = Field("", title="Domaine")


class Sections(Strict):
    context: Line = Field("", title="Contexte de réalisation")
    objectives: Annotated[list[Line], FormLines()] = Field(default_factory=list, title="Objectifs")
    specialists: list[Specialist] = Field(default_factory=list, title="Spécialistes")


class Sample(Strict):
    sections: Sections | None = None
    unit_price: Money = Field(title="Prix unitaire")
    start_date: OptionalDate = Field(None, title="Date de début")
    confirmed: bool = Field(False, title="Lu et compris")
    modalities: list[Modality] = Field(default_factory=list, title="Modalités")
    count: int = Field(title="Nombre")


def posted(*pairs) -> MultiDict:
    return MultiDict([("csrf_token", "x"), *pairs])


def test_nested_paths_rows_lines_and_boxes_become_the_model():
    form = posted(
        ("sections.context", "En milieu de travail"),
        ("sections.objectives", "Reconnaître les acquis\r\n\r\n  Former la relève  "),
        ("sections.specialists.0.name", "Julie Morin"),
        ("sections.specialists.0.field", "Soins infirmiers"),
        ("sections.specialists.1.name", ""),  # a blank extra row
        ("sections.specialists.1.field", ""),
        ("sections.specialists.2.name", "Émilie Roy"),
        ("unit_price", "1 250,00"),
        ("start_date", ""),
        ("modalities", "in_person"),
        ("modalities", "online"),
        ("count", "3"),
    )
    sample = Sample.model_validate(decode(form, Sample))
    assert sample.sections.context == "En milieu de travail"
    assert sample.sections.objectives == ["Reconnaître les acquis", "Former la relève"]
    assert [s.name for s in sample.sections.specialists] == ["Julie Morin", "Émilie Roy"]
    assert sample.unit_price == Decimal("1250.00")
    assert sample.start_date is None
    assert sample.confirmed is False  # unchecked: not posted at all
    assert sample.modalities == [Modality.IN_PERSON, Modality.ONLINE]
    assert sample.count == 3


def test_a_required_field_left_empty_is_missing_not_a_parsing_error():
    with pytest.raises(ValidationError) as error:
        Sample.model_validate(decode(posted(("unit_price", "10"), ("count", "")), Sample))
    assert error_details(error.value) == {"count": "Ce champ est obligatoire."}


def test_a_part_not_posted_stays_absent_and_a_checked_box_is_true():
    data = decode(posted(("unit_price", "5"), ("count", "1"), ("confirmed", "on")), Sample)
    assert "sections" not in data
    assert data["confirmed"] is True


def test_the_encoder_gives_back_what_the_decoder_reads():
    sample = Sample(
        sections=Sections(
            context="Contexte",
            objectives=["Un", "Deux"],
            specialists=[Specialist(name="Julie Morin", field="Soins")],
        ),
        unit_price=Decimal("1250.5"),
        start_date=date(2027, 1, 1),
        confirmed=True,
        modalities=[Modality.ONLINE],
        count=2,
    )
    values = encode(sample)
    assert values["sections.objectives"] == "Un\nDeux"
    assert values["sections.specialists.0.name"] == "Julie Morin"
    assert values["unit_price"].replace("\u202f", " ").replace("\xa0", " ") == "1 250,50"
    assert values["start_date"] == "2027-01-01"
    assert values["confirmed"] == "on"
    assert values["modalities"] == ["online"]
    form = MultiDict(
        [(k, v) for k, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])]
    )
    assert Sample.model_validate(decode(form, Sample)) == sample


def test_labels_of_fields_and_rows_for_the_error_summary():
    assert label_of(Sample, "sections.context") == "Contexte de réalisation"
    assert label_of(Sample, "sections.specialists.1.name") == "Spécialiste 2 — Nom"
    assert label_of(Sample, "unit_price") == "Prix unitaire"
    assert label_of(Sample, "estimate") is None


def test_the_summary_never_shows_an_internal_path():
    state = FormState(
        errors={"sections.specialists.0.name": "Ce champ est obligatoire.", "estimate": "Aucune"},
        message="Certains champs sont à corriger.",
        model=Sample,
    )
    summary = state.summary()
    assert summary[0] == {
        "label": "Spécialiste 1 — Nom",
        "message": "Ce champ est obligatoire.",
        "anchor": f"#{field_id('sections.specialists.0.name')}",
    }
    assert summary[1] == {"label": None, "message": "Aucune", "anchor": None}
    assert all("." not in (item["label"] or "") for item in summary)


def test_rows_to_render_cover_the_values_and_a_blank_one():
    state = FormState(
        values={"sections.specialists.0.name": "A", "sections.specialists.2.name": "B"}
    )
    assert list(state.rows("sections.specialists", minimum=2, extra=1)) == [0, 1, 2, 3]
    assert list(FormState().rows("sections.specialists", minimum=3)) == [0, 1, 2]


def test_a_tagged_union_and_rows_whose_selects_alone_are_set():
    """An estimate: a line whose only posted values are its selects is a blank row; an
    installment's due date is one of two shapes, chosen by its ``kind``."""
    from rac_shared.contracts.billing import EstimateSpec, LineCategory, TaxTreatment

    form = posted(
        ("lines.0.category", "advisory"),
        ("lines.0.description", "Services-conseils"),
        ("lines.0.quantity", "10"),
        ("lines.0.unit_price", "95,00"),
        ("lines.0.tax", ""),
        ("lines.1.category", "evaluation"),  # a blank row: its selects only
        ("lines.1.tax", "exempt"),
        ("lines.1.description", ""),
        ("installments.0.label", "À l'acceptation"),
        ("installments.0.percent", "100"),
        ("installments.0.due.kind", "milestone"),
        ("installments.0.due.milestone", "acceptance"),
        ("installments.0.due.offset_days", ""),
        ("installments.0.due.date", ""),
        ("installments.1.due.kind", "milestone"),  # blank
        ("installments.1.due.milestone", "acceptance"),
        ("installments.2.label", "Solde"),
        ("installments.2.due.kind", "date"),
        ("installments.2.due.date", "2027-06-30"),
        ("installments.2.due.milestone", "acceptance"),
        ("payment_term_days", "30"),
    )
    spec = EstimateSpec.model_validate(decode(form, EstimateSpec))
    [line] = spec.lines
    assert (line.category, line.tax, line.unit_price) == (
        LineCategory("advisory"),
        TaxTreatment.TAXABLE,  # left empty: the contract's default
        Decimal("95.00"),
    )
    first, balance = spec.installments
    assert (first.due.kind, first.due.offset_days) == ("milestone", 0)
    assert (balance.due.kind, balance.due.date) == ("date", date(2027, 6, 30))


def test_a_measure_is_shown_again_as_people_write_it_and_an_amount_with_two_decimals():
    """``Measured`` Decimals (a report's indicators, in a group of fields per section key)
    come back as typed (« 2,5 », « 12 »); other Decimals keep an amount's two decimals."""
    from rac_shared.contracts.network import IndicatorIn, ReportDraftIn, ReportSectionIn

    indicator = IndicatorIn(label="Taux", target=Decimal("12.00"), achieved=Decimal("2.50"))
    draft = ReportDraftIn(sections={"offer": ReportSectionIn(indicators=[indicator])})
    values = encode(draft)
    assert values["sections.offer.indicators.0.target"] == "12"
    assert values["sections.offer.indicators.0.achieved"] == "2,5"
    assert (
        decode(MultiDict(values), ReportDraftIn)["sections"]["offer"]["indicators"][0]["achieved"]
        == "2,5"
    )

    class Amount(Strict):
        amount: Decimal = Field(title="Montant")

    assert encode(Amount(amount=Decimal("2.5"))) == {"amount": "2,50"}
