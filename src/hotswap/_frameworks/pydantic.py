"""pydantic v2: a model's validator, serializer, fields and schema are generated from its
class body when the class is created (by the metaclass), and a model nesting another
embeds that one's schema.

A model whose fields, annotations, defaults or config changed is rebuilt (the engine runs
its class statement again and migrates the result into the live class); this adapter
then regenerates the live class's validator and serializer so that they build instances
of the live class (``model_rebuild(force=True)``), does the same for every model that
embeds a rebuilt one, gives old instances the defaults of new fields and takes removed
fields from them. A subclass defined in a module not updated keeps the fields it
collected from its base when it was created: the report names it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pydantic
from pydantic_core import PydanticUndefined

from .._safe import is_a
from .._ops import Call, Op
from . import Adapter
from ._annotations import mentions as _mentions

BaseModel = pydantic.BaseModel


def _models() -> Iterator[type]:
    seen: set[int] = set()
    stack = list(BaseModel.__subclasses__())
    while stack:
        cls = stack.pop()
        if id(cls) in seen:
            continue
        seen.add(id(cls))
        yield cls
        stack.extend(cls.__subclasses__())


def _state(cls: type) -> dict[str, Any]:
    return {k: v for k, v in cls.__dict__.items() if k.startswith("__pydantic")
            or k in ("model_fields", "model_computed_fields", "__signature__",
                     "__class_vars__", "__private_attributes__")}


def _restore(cls: type, state: dict[str, Any]) -> None:
    for key in [k for k in _state(cls) if k not in state]:
        type.__delattr__(cls, key)
    for key, value in state.items():
        type.__setattr__(cls, key, value)


def _default_of(info: Any) -> Callable[[], Any]:
    """A new field's default, made afresh for each old instance (as pydantic does)."""
    return lambda: info.get_default(call_default_factory=True, validated_data={})


class PydanticAdapter(Adapter):
    module = "pydantic"
    name = "pydantic"

    def generated(self, cls: type) -> bool:
        return is_a(cls, type) and issubclass(cls, BaseModel) and cls is not BaseModel

    def fill(self, new: type, live: type) -> tuple[dict[str, Callable[[], Any]], list[str]]:
        old = live.__dict__.get("__pydantic_fields__", {})
        fields = new.__dict__.get("__pydantic_fields__", {})
        out: dict[str, Callable[[], Any]] = {}
        for name, info in fields.items():
            if name in old:
                continue
            if info.default is not PydanticUndefined or info.default_factory is not None:
                out[name] = _default_of(info)
        return out, [n for n in old if n not in fields]

    def instance(self, obj: Any, added: list[str], removed: list[str]) -> Callable[[], None]:
        """A removed field leaves the instance's set of fields given explicitly."""
        fields_set = getattr(obj, "__pydantic_fields_set__", None)
        if not removed or not isinstance(fields_set, set):
            return lambda: None
        gone = fields_set & set(removed)
        fields_set -= gone
        return lambda: fields_set.update(gone)

    def after(self, update: Any) -> list[Op]:
        rebuilt = [c for c in update.classes if self.generated(c)]
        if not rebuilt:
            return []
        targets = dependents(rebuilt)
        order = list(rebuilt)
        grew = True
        while grew:  # each model after the ones it embeds
            grew = False
            placed = {id(c) for c in order}
            for cls in _models():
                if id(cls) in targets and id(cls) not in placed and not any(
                        _mentions(f.annotation, targets - placed - {id(cls)})
                        for f in cls.__dict__.get("__pydantic_fields__", {}).values()):
                    order.append(cls)
                    placed.add(id(cls))
                    grew = True
        report = update.report
        for cls in _models():
            if id(cls) not in targets and any(id(b) in targets for b in cls.__mro__[1:]) \
                    and cls.__module__ != update.module.__name__ and report is not None:
                report.skip(f"{cls.__module__}.{cls.__qualname__}",
                            "pydantic: a subclass of a rebuilt model, defined in a module not "
                            "updated, keeps the fields it collected when it was created "
                            "(update its module too, or restart)")
        before = {id(c): _state(c) for c in order}

        def do() -> None:
            for cls in order:
                cls.model_rebuild(force=True, _parent_namespace_depth=0)

        def undo() -> None:
            for cls in reversed(order):
                _restore(cls, before[id(cls)])
        if report is not None and len(order) > len(rebuilt):
            report.notes.append("pydantic: models embedding a rebuilt model rebuilt too: "
                                + ", ".join(c.__qualname__ for c in order[len(rebuilt):]))
        return [Call(do, undo, "pydantic: regenerate validators and serializers")]


ADAPTER = PydanticAdapter()


def dependents(classes: list[type]) -> set[int]:
    """Ids of the models that embed one of `classes`, transitively (and theirs)."""
    targets = {id(c) for c in classes}
    grew = True
    while grew:
        grew = False
        for cls in _models():
            if id(cls) in targets:
                continue
            fields = cls.__dict__.get("__pydantic_fields__", {})
            if any(_mentions(f.annotation, targets) for f in fields.values()):
                targets.add(id(cls))
                grew = True
    return targets
