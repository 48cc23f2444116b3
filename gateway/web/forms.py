"""One form pipeline: posted fields ↔ the contract's nested models, errors by field.

A form's fields are named by their path in the contract's model — ``sections.context``,
``specialists.0.name``, ``lines.2.quantity`` — the same paths pydantic and the services use
in their error details. So one decoder turns any posted multi-dict into the nested data of
any model, one encoder turns a model (or a reply) back into the strings a form shows, and an
error is shown next to the field whose name is its path, with the field's French title
(``Field(title=…)`` in the contract) in the summary at the top of the page. Amounts are shown
again the French way with two decimals (``1 250,00``), measures (``Measured``) as people write
them (``2,5``).

The model drives the decoding: an unchecked box is ``False``, an empty optional field is
``None``, a required one left empty is missing (« Ce champ est obligatoire. »), rows of a
repeated group left blank are dropped, a ``FormLines`` list is one text area, a
``list[Vocabulary]`` is a group of check boxes. Nothing is cut to a length here: limits
live in the contract, identical for the form and the API.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from werkzeug.datastructures import MultiDict

from rac_shared.contracts.base import FormLines, Measured, Strict
from rac_shared.contracts.shape import (
    field_annotation,
    field_info_at,
    is_model,
    list_item,
    unwrap,
)
from rac_shared.formatting import number, short_decimal

NOT_FIELDS = frozenset({"csrf_token", "_form"})


class NoFields(Strict):
    """A form that posts nothing but its intent (publish, sign, remove): ``form=NoFields``
    lets the framework re-render the page on the service's refusal."""


# -- decoding: posted fields → nested data -------------------------------------------------


def raw_tree(form: MultiDict) -> dict:
    """``{"a.b": [..], "a.c.0.d": [..]}`` → nested dicts of lists of strings."""
    tree: dict = {}
    for key in form:
        if key in NOT_FIELDS or key.startswith("_"):
            continue
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = form.getlist(key)
    return tree


def decode(form: MultiDict, model: type[BaseModel]) -> dict:
    """The posted ``form`` as nested data for ``model`` (validate it with the model)."""
    return _model_data(model, raw_tree(form))


def _model_data(model: type[BaseModel], raw: dict) -> dict:
    data: dict = {}
    for key, annotation, checkbox in _fields(model):
        if key in raw:
            value = _value(annotation, raw[key])
            if value is not _MISSING:
                data[key] = value
        elif checkbox:
            data[key] = False  # an unchecked box is not posted (a required yes/no is)
    return data


@functools.cache
def _fields(model: type[BaseModel]) -> tuple[tuple[str, Any, bool], ...]:
    """Each field's outside name (``?from=``: its alias), annotation, and whether it is an
    optional yes/no (a checkbox): read once per model, not for every request."""
    fields = []
    for name, info in model.model_fields.items():
        annotation = field_annotation(model, name)
        checkbox = unwrap(annotation)[0] is bool and not info.is_required()
        fields.append((info.alias or name, annotation, checkbox))
    return tuple(fields)


_MISSING = object()  # a value left out of the data (required: the model says it is missing)


def _value(annotation, raw):
    bare, metadata, optional = unwrap(annotation)
    if is_model(bare):
        return _model_data(bare, raw) if isinstance(raw, dict) else _MISSING
    members = _union_models(bare)
    if members:  # one of several shapes (a due date, or a milestone), told by its tag
        if not isinstance(raw, dict):
            return _MISSING
        member = next((m for m in members if _tags_match(m, raw)), None)
        return _model_data(member, raw) if member is not None else _scalars(raw)
    item = list_item(bare)
    if item is not None:
        return _list_value(item, metadata, raw)
    if isinstance(raw, dict):  # a free-form mapping (answers by question) or a stray group
        if typing.get_origin(bare) is dict:
            group = _mapped_model(bare)
            if group is not None:  # a group of fields per key (a report's sections)
                return {k: _model_data(group, v) for k, v in raw.items() if isinstance(v, dict)}
            return _scalars(raw)
        return _MISSING
    text = _scalar(raw)
    if bare is bool:
        return text.lower() in ("on", "oui", "true", "1", "yes")
    if text.strip() == "" and bare is not str:
        return None if optional else _MISSING
    return text


def _union_models(annotation) -> list[type[BaseModel]]:
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return []
    members = [unwrap(a)[0] for a in typing.get_args(annotation)]
    return members if all(is_model(m) for m in members) else []


def _tags_match(model: type[BaseModel], raw: dict) -> bool:
    """Whether the posted values of ``model``'s ``Literal`` fields (its tags) are its own."""
    bare = {name: unwrap(field_annotation(model, name))[0] for name in model.model_fields}
    tags = {
        n: typing.get_args(a) for n, a in bare.items() if typing.get_origin(a) is typing.Literal
    }
    return bool(tags) and all(_scalar(raw.get(name, "")) in map(str, v) for name, v in tags.items())


def _mapped_model(mapping) -> type[BaseModel] | None:
    """The model of each value of a ``dict[str, Model]`` annotation, else None."""
    args = typing.get_args(mapping)
    value = unwrap(args[1])[0] if len(args) == 2 else None
    return value if is_model(value) else None


def _scalar(raw) -> str:
    if isinstance(raw, list):
        return raw[-1] if raw else ""
    return str(raw)


def _scalars(raw: dict) -> dict:
    """A group's own values, without its sub-groups."""
    return {key: _scalar(value) for key, value in raw.items() if not isinstance(value, dict)}


def _list_value(item, metadata: tuple, raw):
    if isinstance(raw, dict):  # indexed rows: 0, 1, 2…
        rows = (_value(item, raw[key]) for key in sorted((k for k in raw if k.isdigit()), key=int))
        return [row for row in rows if row is not _MISSING and not _blank(row, item)]
    values = raw if isinstance(raw, list) else [raw]
    if _one_per_line(metadata):
        lines = "\n".join(values).splitlines()
        return [line.strip() for line in lines if line.strip()]
    return [v for v in values if v.strip() != ""]


def _one_per_line(metadata) -> bool:
    """Whether a list field is typed one item per line (``FormLines``: one text area)."""
    return any(m is FormLines or isinstance(m, FormLines) for m in metadata)


def _blank(row, annotation=None) -> bool:
    """A repeated row nobody filled: its text fields empty, its boxes unchecked. What a
    ``<select>`` always posts (a category, a tax, a tag) does not make a row filled."""
    bare = unwrap(annotation)[0]
    if isinstance(row, dict):
        shapes = [bare] if is_model(bare) else _union_models(bare)
        return all(
            _is_choice(_annotation_in(shapes, key)) or _blank(value, _annotation_in(shapes, key))
            for key, value in row.items()
        )
    if isinstance(row, list):
        return all(_blank(v) for v in row)
    return row in ("", None, False)


def _annotation_in(models: list, name: str):
    for model in models:
        if name in model.model_fields:
            return field_annotation(model, name)
    return None


def _is_choice(annotation) -> bool:
    """A field whose form control is a choice among fixed values (select, radio)."""
    bare = unwrap(annotation)[0]
    if typing.get_origin(bare) is typing.Literal:
        return True
    return isinstance(bare, type) and issubclass(bare, Enum)


# -- encoding: data → the strings a form shows ---------------------------------------------


def encode(data, model: type[BaseModel] | None = None, prefix: str = "") -> dict[str, Any]:
    """Flat ``{path: display value}`` of ``data`` (a model, or dicts shaped like ``model``).

    Strings for inputs and text areas (Decimals written the French way, dates ISO for
    ``<input type=date>``), lists of values for check-box groups and multiple selects.
    """
    values: dict[str, Any] = {}
    _encode_into(values, data, model, prefix)
    return values


def _encode_into(values: dict, data, annotation, path: str) -> None:
    bare, metadata, _ = unwrap(annotation)
    if isinstance(data, BaseModel):
        bare = type(data)
        data = data.model_dump()
    if isinstance(data, dict):
        model = bare if is_model(bare) else None
        mapped = _mapped_model(bare) if typing.get_origin(bare) is dict else None  # per key
        for key, value in data.items():
            child = field_annotation(model, key) if model and key in model.model_fields else mapped
            _encode_into(values, value, child, f"{path}.{key}" if path else str(key))
        return
    if isinstance(data, list | tuple):
        item = list_item(bare)
        if _one_per_line(metadata):
            values[path] = "\n".join(display(v) for v in data)
        elif data and all(isinstance(v, dict | BaseModel) for v in data):  # repeated rows
            for index, value in enumerate(data):
                _encode_into(values, value, item, f"{path}.{index}")
        else:
            values[path] = [display(v) for v in data]
        return
    measured = Measured in metadata and isinstance(data, Decimal)
    values[path] = short_decimal(data) if measured else display(data)


def display(value) -> str:
    """One value as a form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):  # ``1 250,50``: two decimals at least, as typed amounts
        return number(value, max(-value.as_tuple().exponent, 2))
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# -- labels and errors ---------------------------------------------------------------------


def label_of(model: type[BaseModel] | None, path: str) -> str | None:
    """The French title of the field at ``path`` (« Candidat-travailleur 2 — Courriel »)."""
    labels: list[str] = []
    annotation: Any = model
    for part in path.split("."):
        bare = unwrap(annotation)[0]
        if is_model(bare):
            info = bare.model_fields.get(part)
            if info is None:
                return None
            if info.title:
                labels.append(info.title)
            annotation = field_annotation(bare, part)
        elif list_item(bare) is not None and part.isdigit():
            if labels:
                labels[-1] = f"{_singular(labels[-1])} {int(part) + 1}"
            annotation = list_item(bare)
        elif typing.get_origin(bare) is dict and _mapped_model(bare) is not None:
            annotation = _mapped_model(bare)  # a key of the mapping: its group's fields
        else:
            return None
    return " — ".join(labels) if labels else None


def _singular(title: str) -> str:
    """« Spécialistes » → « Spécialiste » for row labels (French plurals of these titles
    take an s; a title that does not is kept as is)."""
    words = title.split(" ")
    words[0] = words[0][:-1] if words[0].endswith("s") and len(words[0]) > 3 else words[0]
    return " ".join(words)


def field_id(path: str, instance: str | None = None) -> str:
    """The HTML id of a field: its path, under the form instance's key when a page shows
    the same form several times (one consensus form per application)."""
    name = path.replace(".", "-").replace("_", "-")
    return f"champ-{instance}-{name}" if instance else f"champ-{name}"


FORM_KEY = "_form"  # a hidden field naming the instance of a form shown several times


@dataclass
class FormState:
    """What a form shows: values (submitted ones after a refusal), errors by field path,
    the refusal's headline, and labels for the error summary."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    model: type[BaseModel] | None = None
    endpoint: str | None = None
    instance: str | None = None  # FORM_KEY's value: which of a page's identical forms

    def id(self, path: str) -> str:
        return field_id(path, self.instance)

    def value(self, path: str, default: str = "") -> str:
        value = self.values.get(path, default)
        if isinstance(value, list):
            return value[-1] if value else default
        return value

    def selected(self, path: str) -> list[str]:
        value = self.values.get(path, [])
        return value if isinstance(value, list) else [value] if value else []

    def checked(self, path: str, option: str | None = None) -> bool:
        if option is None:
            return self.value(path) not in ("", "off", "non", "false", "0")
        return option in self.selected(path)

    def error(self, path: str) -> str | None:
        found = self.errors.get(path)
        if found is None and self._typed_as_lines(path):  # an item's error: its text area's
            prefix = f"{path}."
            found = next((m for p, m in self.errors.items() if p.startswith(prefix)), None)
        return found

    def _typed_as_lines(self, path: str) -> bool:
        info = field_info_at(self.model, path.split(".")) if self.model else None
        return _one_per_line(getattr(info, "metadata", ()))

    def _field_of(self, path: str) -> str:
        """The field an error's path is shown on: an item of a list typed one per line
        (``closure_dates.2``) is shown on its text area (``closure_dates``)."""
        head, _, last = path.rpartition(".")
        return head if head and last.isdigit() and self._typed_as_lines(head) else path

    def rows(self, path: str, minimum: int = 1, extra: int = 1) -> range:
        """Row indices of a repeated group ``path`` to render: those with values, plus
        ``extra`` blank ones, at least ``minimum``."""
        prefix = f"{path}."
        used = {
            int(key[len(prefix) :].split(".", 1)[0])
            for key in (*self.values, *self.errors)
            if key.startswith(prefix) and key[len(prefix) :].split(".", 1)[0].isdigit()
        }
        count = max(used) + 1 if used else 0
        return range(max(count + extra, minimum))

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message)

    def summary(self) -> list[dict]:
        """Each error with the label of its field and the anchor of the field; an error
        whose field has no label (a rule on the whole form) comes without a link, never
        with an internal path."""
        items = []
        for path, message in self.errors.items():
            label = label_of(self.model, path)
            items.append(
                {
                    "label": label,
                    "message": message,
                    "anchor": f"#{self.id(self._field_of(path))}" if label else None,
                }
            )
        return items

    def merged(self, defaults: dict[str, Any]) -> FormState:
        """This state over ``defaults`` (what the page shows when nothing was submitted)."""
        return replace(self, values={**defaults, **self.values})

    def applies_to(self, endpoint: str | None, key: str | None) -> bool:
        """Whether this refused state belongs to the form ``endpoint`` / instance ``key``."""
        if key is not None:
            return self.instance == key
        return endpoint is None or self.endpoint == endpoint


def submitted_values(form: MultiDict) -> dict[str, Any]:
    """The posted fields as they were typed, for showing them again after a refusal (a
    field posted several times as the list of its values)."""
    posted = form.to_dict(flat=False)  # a MultiDict holds no key without a value
    return {k: v if len(v) > 1 else v[0] for k, v in posted.items() if k not in NOT_FIELDS}


def errors_for_fields(details: dict) -> dict[str, str]:
    """A service's error details (``{"sections.context": "…"}``) as field errors."""
    if not isinstance(details, dict):
        return {}
    return {
        str(path): " ".join(map(str, message)) if isinstance(message, list) else str(message)
        for path, message in details.items()
    }
