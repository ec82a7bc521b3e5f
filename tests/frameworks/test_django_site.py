# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""Django (``settings.configure()``, in-memory SQLite): everyday edits of a site,
compared with a fresh process importing the new source. Django's settings and app
registry are once per process, so the live program runs in a process of its own too:
it serves requests with a test client, is updated, and serves them again through the
same client and the same model class."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers.fw_fresh import SRC, fresh

pytestmark = pytest.mark.heavy
pytest.importorskip("django")

FILES = {
    "boot.py": '''
        import django
        from django.conf import settings

        settings.configure(
            DEBUG=False, SECRET_KEY="x", ROOT_URLCONF="shop.urls", ALLOWED_HOSTS=["*"],
            INSTALLED_APPS=["django.contrib.contenttypes", "shop"], MIDDLEWARE=[],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True)
        django.setup()

        from django.db import connection

        from shop.models import Book

        with connection.schema_editor() as editor:
            editor.create_model(Book)
        Book.objects.create(title="b", pages=2)
        Book.objects.create(title="a", pages=1)
    ''',
    "shop/__init__.py": "",
    "shop/models.py": '''
        from django.db import models


        class Book(models.Model):
            title = models.CharField(max_length=50)
            pages = models.IntegerField(default=0)

            class Meta:
                app_label = "shop"
                ordering = ["title"]

            def label(self):
                return f"{self.title} ({self.pages})"
    ''',
    "shop/forms.py": '''
        from django import forms


        class BookForm(forms.Form):
            title = forms.CharField(max_length=5)
    ''',
    "shop/views.py": '''
        from django.http import JsonResponse
        from django.views import View

        from .forms import BookForm
        from .models import Book


        def books(request):
            return JsonResponse({"books": [b.label() for b in Book.objects.all()]})


        class Hello(View):
            def get(self, request):
                return JsonResponse({"msg": "hello"})


        def form(request):
            f = BookForm(request.GET)
            return JsonResponse({"valid": f.is_valid(), "errors": f.errors,
                                 "fields": list(f.fields)})
    ''',
    "shop/urls.py": '''
        from django.urls import path

        from . import views

        urlpatterns = [
            path("books/", views.books, name="books"),
            path("hello/", views.Hello.as_view(), name="hello"),
            path("form/", views.form, name="form"),
        ]
    ''',
}

PROBE = '''
def answers():
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    client = CLIENT.setdefault("c", Client())
    out = {}
    for path in ["/books/", "/hello/", "/hi/", "/form/?title=abcdefg&isbn=1", "/extra/"]:
        r = client.get(path)
        out[path] = [r.status_code, r.json() if r.status_code == 200 else None]
    for name in ["books", "hello", "greeting", "extra"]:
        try:
            out["reverse " + name] = reverse(name)
        except NoReverseMatch:
            out["reverse " + name] = None
    return out


CLIENT = {}
'''

DRIVER = '''
import importlib, json, sys, warnings
warnings.simplefilter("ignore")
sys.path[:0] = [ROOT, SRC]
sys.dont_write_bytecode = True
import hotswap
import boot
from pathlib import Path
PROBE_HERE
import shop.urls, shop.views, shop.models, shop.forms
held = shop.models.Book
before = answers()
for rel, text in EDITS.items():
    Path(ROOT, rel).write_text(text)
importlib.invalidate_caches()
names = [rel[:-3].replace("/", ".") for rel in EDITS if rel[:-3].replace("/", ".") in sys.modules]
try:
    reports = [str(r) for r in hotswap.update_many(names)]
    error = None
except hotswap.UpdateError as exc:
    reports, error = [], str(exc)
after = answers()
print("@@" + json.dumps({"before": before, "after": after, "reports": reports, "error": error,
                         "same_model": shop.models.Book is held}))
'''


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _edited(edits: dict[str, list[tuple[str, str]] | str]) -> dict[str, str]:
    out = {}
    for rel, change in edits.items():
        if isinstance(change, str):
            out[rel] = textwrap.dedent(change)
            continue
        text = textwrap.dedent(FILES[rel])
        for old, new in change:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        out[rel] = text
    return out


def _live(root: Path, edits: dict[str, str]) -> dict:
    script = DRIVER.replace("PROBE_HERE", PROBE).replace(
        "ROOT, SRC", f"{str(root)!r}, {SRC!r}").replace("ROOT, rel", f"{str(root)!r}, rel")
    script = f"EDITS = {edits!r}\n" + script
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=str(root))
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads([x for x in out.stdout.splitlines() if x.startswith("@@")][-1][2:])


CASES = {
    "function view body": {"shop/views.py": [('[b.label() for b in Book.objects.all()]',
                                              '[b.label().upper() for b in Book.objects.all()]')]},
    "class-based view body": {"shop/views.py": [('{"msg": "hello"}', '{"msg": "hello there"}')]},
    "URL pattern added": {"shop/urls.py": [(']\n', '    path("hi/", views.Hello.as_view()),\n]\n')]},
    "URL pattern renamed": {"shop/urls.py": [('name="hello"', 'name="greeting"')]},
    "new view module with its URL": {
        "shop/extra.py": '''
            from django.http import JsonResponse


            def extra(request):
                return JsonResponse({"extra": True})
        ''',
        "shop/urls.py": [("from . import views\n", "from . import extra, views\n"),
                         (']\n', '    path("extra/", extra.extra, name="extra"),\n]\n')]},
    "model method": {"shop/models.py": [('f"{self.title} ({self.pages})"', 'f"{self.title}: {self.pages}p"')]},
    "form field added": {"shop/forms.py": [("max_length=5)\n",
                                           "max_length=5)\n    isbn = forms.IntegerField()\n")]},
}


@pytest.mark.parametrize("case", list(CASES))
def test_django_edit_behaves_as_a_fresh_start(case, tmp_path):
    _write(tmp_path, FILES)
    edits = _edited(CASES[case])
    result = _live(tmp_path, edits)
    assert result["error"] is None, result["error"]
    assert result["same_model"]
    _write(tmp_path, edits)
    expected = fresh(tmp_path, PROBE + "\nimport boot\n", "answers()")
    assert result["after"] == expected, "\n".join(result["reports"])
    assert result["after"] != result["before"]


def test_a_model_meta_change_is_refused_and_changes_nothing(tmp_path):
    _write(tmp_path, FILES)
    edits = _edited({"shop/models.py": [('ordering = ["title"]', 'ordering = ["-pages"]')]})
    result = _live(tmp_path, edits)
    assert result["error"] is not None
    assert "shop.models.Book" in result["error"] and "Django" in result["error"]
    assert "Meta" in result["error"]
    assert result["after"] == result["before"]
