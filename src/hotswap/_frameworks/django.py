"""Django: the URL resolver is built at the first request from the URLconf's
``urlpatterns`` and cached; a model's ``_meta`` (fields, ordering) and its entry in the
app registry are made when the model class is created, as its database table was; a
form's ``base_fields`` are collected from its class body by the metaclass.

After an update the URL caches are cleared, so a pattern added, renamed or pointing to a
new view module is resolved as a fresh start would. A form whose fields changed is
rebuilt (the engine runs its class statement again and migrates the result, the
``base_fields`` with it). A model whose fields or ``Meta`` changed is refused: running
its class statement again would register a second model under the same name in the app
registry, and its table would need a migration."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from .._safe import is_a
from .._ops import Call, Op
from . import Adapter


def _ready() -> bool:
    """Django's models and forms can be looked at only once its settings are configured
    (a program may import django without ever setting it up)."""
    conf = sys.modules.get("django.conf")
    settings = getattr(conf, "settings", None)
    return bool(settings is not None and settings.configured)


class DjangoAdapter(Adapter):
    module = "django"
    name = "Django"

    def generated(self, cls: type) -> bool:
        if not is_a(cls, type) or not _ready():
            return False
        models = importlib.import_module("django.db.models")
        BaseForm = importlib.import_module("django.forms.forms").BaseForm

        if issubclass(cls, models.Model):
            return "_meta" in cls.__dict__
        return issubclass(cls, BaseForm) and "base_fields" in cls.__dict__

    def refuse(self, cls: type) -> str | None:
        models = importlib.import_module("django.db.models")
        if issubclass(cls, models.Model):
            return ("a model's fields or Meta options changed: its _meta and its entry in "
                    "the app registry were made when the class was created (and its table "
                    "may need a migration)")
        return None

    def after(self, update: Any) -> list[Op]:
        if "urlpatterns" not in update.module.__dict__ or not _ready():
            return []  # only a URLconf's update changes what the resolver derived
        clear_url_caches = importlib.import_module("django.urls").clear_url_caches

        return [Call(clear_url_caches, clear_url_caches, "Django: clear the URL caches")]


ADAPTER = DjangoAdapter()
