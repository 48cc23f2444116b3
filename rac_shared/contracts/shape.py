"""Reading a contract model's shape: what a field's annotation really is (``Annotated``,
``Optional`` and lists unwrapped) and which field a path such as ``lines.0.quantity``
names. The form decoder, the error messages and the labels of the error summary all walk
models the same way, through these."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel


def unwrap(annotation) -> tuple[Any, tuple, bool]:
    """(bare type, ``Annotated`` metadata, optional?) of a field's annotation."""
    metadata: tuple = ()
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            metadata += tuple(annotation.__metadata__)
            annotation = annotation.__origin__
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) < len(typing.get_args(annotation)):
                optional = True
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation, metadata, optional


def is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def list_item(annotation):
    """The item type of a list (or tuple, set) annotation, else None."""
    if typing.get_origin(annotation) in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return args[0] if args else str
    return None


def field_annotation(model: type[BaseModel], name: str):
    """A field's annotation with its constraints and metadata (``Annotated``)."""
    info = model.model_fields[name]
    annotation = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    return annotation


def field_info_at(model: type[BaseModel] | None, path) -> Any:
    """The ``FieldInfo`` named by ``path`` (parts, indices included) in ``model``."""
    info = None
    annotation: Any = model
    for part in path:
        bare = unwrap(annotation)[0]
        if is_model(bare) and str(part) in bare.model_fields:
            info = bare.model_fields[str(part)]
            annotation = field_annotation(bare, str(part))
        elif list_item(bare) is not None and str(part).isdigit():
            annotation = list_item(bare)
        else:
            return None
    return info
