# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""Flask: everyday edits of an app that has served requests (so Flask's setup guard is
on), compared with a fresh process importing the new source, through the app and the
test client held since before the update."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from helpers.fw_fresh import fresh, live

pytestmark = pytest.mark.heavy
pytest.importorskip("flask")

SOURCE = '''
from flask import Blueprint, Flask, g, jsonify, request

app = Flask(__name__)
app.config["GREETING"] = "hello"
bp = Blueprint("shop", __name__)


@bp.route("/items")
def items():
    return jsonify(["a", "b"])


@app.before_request
def stamp():
    g.stamp = "v1"


@app.errorhandler(404)
def missing(error):
    return jsonify(error="missing"), 404


@app.route("/hello")
def hello():
    return jsonify(msg=f"{app.config['GREETING']} {request.args.get('name', 'world')}",
                   stamp=g.stamp)


@app.route("/form", methods=["GET"])
def form():
    return jsonify(method=request.method)


@app.route("/fail")
def fail():
    raise KeyError("x")


app.register_blueprint(bp, url_prefix="/shop")
'''

PROBE = '''
REQUESTS = [("GET", "/hello"), ("GET", "/hi"), ("GET", "/form"), ("POST", "/form"),
            ("GET", "/shop/items"), ("GET", "/shop/cart"), ("GET", "/nothing"),
            ("GET", "/new"), ("GET", "/fail")]


def answers(app, client):
    out = {}
    for method, path in REQUESTS:
        r = client.open(path, method=method)
        out[f"{method} {path}"] = [r.status_code, r.get_json(silent=True)]
    out["rules"] = sorted((r.rule, sorted(r.methods or ()), r.endpoint)
                          for r in app.url_map.iter_rules())
    return out
'''

CASES = {
    "view body": [("{app.config['GREETING']} {request", "{app.config['GREETING']}, {request")],
    "route added": [("app.register_blueprint(bp", '@app.route("/new")\ndef new():\n'
                     '    return jsonify(new=1)\n\n\napp.register_blueprint(bp')],
    "rule changed": [('@app.route("/hello")', '@app.route("/hi")')],
    "methods changed": [('methods=["GET"]', 'methods=["GET", "POST"]')],
    "blueprint view body": [('jsonify(["a", "b"])', 'jsonify(["a", "b", "c"])')],
    "route added to a registered blueprint": [
        ('@app.before_request', '@bp.route("/cart")\ndef cart():\n    return jsonify(cart=[])\n\n\n'
         '@app.before_request')],
    "before_request body": [('g.stamp = "v1"', 'g.stamp = "v2"')],
    "error handler changed": [('jsonify(error="missing"), 404', 'jsonify(error="not here"), 404')],
    "error handler added": [('@app.route("/hello")', '@app.errorhandler(KeyError)\ndef keyed(error):\n'
                             '    return jsonify(error="key"), 400\n\n\n@app.route("/hello")')],
    "app.config value": [('app.config["GREETING"] = "hello"', 'app.config["GREETING"] = "howdy"')],
}

_ids = itertools.count()


@pytest.mark.parametrize("case", list(CASES))
def test_flask_edit_behaves_as_a_fresh_start(case, modules, tmp_path):
    name = f"flask_app_{next(_ids)}"
    mf = modules(SOURCE, name)
    app = mf.module.app
    client = app.test_client()
    before = live(PROBE, "answers(app, client)", app=app, client=client)  # first requests
    source = textwrap.dedent(SOURCE)
    for old, new in CASES[case]:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    report = mf.update(source)
    assert mf.module.app is app
    after = live(PROBE, "answers(app, client)", app=app, client=client)
    expected = fresh(tmp_path, PROBE + f"\nimport {name} as mod\n"
                     "app = mod.app\nclient = app.test_client()\n", "answers(app, client)")
    assert after == expected, str(report)
    assert after != before


def test_a_failed_or_rolled_back_route_change_leaves_the_app_as_it_was(modules):
    import hotswap

    mf = modules(SOURCE, f"flask_app_{next(_ids)}")
    app = mf.module.app
    client = app.test_client()
    before = live(PROBE, "answers(app, client)", app=app, client=client)
    source = textwrap.dedent(SOURCE).replace('@app.route("/hello")', '@app.route("/hi")')
    with pytest.raises(hotswap.UpdateError):
        mf.update(source + "\nraise RuntimeError('broken')\n")
    assert live(PROBE, "answers(app, client)", app=app, client=client) == before
    mf.update(source + '\n@bp.route("/cart")\ndef cart():\n    return jsonify(cart=[])\n')
    changed = live(PROBE, "answers(app, client)", app=app, client=client)
    assert changed["GET /hi"][0] == 200 and changed["GET /hello"][0] == 404
    hotswap.rollback(mf.module)
    assert live(PROBE, "answers(app, client)", app=app, client=client) == before
