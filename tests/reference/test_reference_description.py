"""The carried description against Asterisk's own api-docs (opt-in: set ARI_API_DOCS).

``ARI_API_DOCS`` names the folder holding one sub-folder per release, e.g.
``ARI_API_DOCS=/path/to/asterisk-ari-api-docs`` with ``22.10.1/resources.json`` inside.
"""

from __future__ import annotations

import json
import os

import pytest

from ari.testing import description as d

ROOT = os.environ.get("ARI_API_DOCS")
pytestmark = pytest.mark.skipif(not ROOT, reason="ARI_API_DOCS is not set")

PARAM_KEYS = ("name", "paramType", "dataType", "required", "allowMultiple", "allowableValues")


def _reference(version: str) -> dict:
    assert ROOT is not None
    folder = os.path.join(ROOT, version)
    with open(os.path.join(folder, "resources.json"), encoding="utf-8") as f:
        docs = {"resources.json": json.load(f)}
    for api in docs["resources.json"]["apis"]:
        name = api["path"].rsplit("/", 1)[1].split(".", 1)[0] + ".json"
        with open(os.path.join(folder, "api-docs", name), encoding="utf-8") as f:
            docs[name] = json.load(f)
    return docs


def _operations(docs: dict) -> dict:
    out = {}
    for name, doc in docs.items():
        if name == "resources.json":
            continue
        for api in doc["apis"]:
            for op in api["operations"]:
                out[(name, api["path"], op["httpMethod"])] = {
                    "nickname": op["nickname"],
                    "responseClass": op["responseClass"],
                    "upgrade": op.get("upgrade"),
                    "parameters": [{k: p[k] for k in PARAM_KEYS if k in p} for p in op.get("parameters", [])],
                    "errors": [int(e["code"]) for e in op.get("errorResponses", [])],
                }
    return out


@pytest.mark.parametrize("version", ["22.10.1"])
def test_carried_round_trips(version):
    reference = _reference(version)
    rendered = d.render_swagger(d.load(version), "http://localhost:8088/ari")
    assert list(rendered) == list(reference)
    assert [a["path"] for a in rendered["resources.json"]["apis"]] == [
        a["path"] for a in reference["resources.json"]["apis"]
    ]
    ref_ops, our_ops = _operations(reference), _operations(rendered)
    assert list(our_ops) == list(ref_ops)
    for key, ref in ref_ops.items():
        assert our_ops[key] == ref, key
    for name, doc in reference.items():
        if name == "resources.json":
            continue
        ours = rendered[name]
        for key in ("apiVersion", "swaggerVersion", "resourcePath"):
            assert ours[key] == doc[key], (name, key)
        assert list(ours["models"]) == list(doc["models"]), name
        for mid, model in doc["models"].items():
            mine = ours["models"][mid]
            for key in ("id", "subTypes", "discriminator", "extends"):
                assert mine.get(key) == model.get(key), (mid, key)
            assert {
                n: {k: v for k, v in p.items() if k != "description"} for n, p in model["properties"].items()
            } == mine["properties"], mid
