#!/usr/bin/env python3
"""Convert an Asterisk ``api-docs`` folder into the compact interface file ``ari.testing`` carries.

Run by hand when a new Asterisk release is described, never at run time::

    python scripts/carry_description.py /path/to/asterisk-ari-api-docs/22.10.1 \
        [--asterisk 22.10.1] [--out ari/testing/interface/ari-22.10.1.json]

It keeps the interface facts (resources, paths, operations, parameters, error codes,
models) and drops all prose (summaries, notes, descriptions, error reasons, authorship).
The output format is documented in ``ari/testing/description.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List

FORMAT = "ari-interface/1"

# Keys of a Swagger parameter object that are facts (everything else is prose or noise).
_PARAM_KEYS = ("name", "paramType", "dataType", "required", "allowMultiple", "allowableValues", "defaultValue")
_PROPERTY_KEYS = ("type", "required", "allowableValues")


def _resource_names(resources: Dict[str, Any]) -> List[str]:
    names = []
    for api in resources["apis"]:
        # "/api-docs/channels.{format}" -> "channels"
        names.append(api["path"].rsplit("/", 1)[1].split(".", 1)[0])
    return names


def _operation(op: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "method": op["httpMethod"],
        "nickname": op["nickname"],
        "returns": op["responseClass"],
    }
    if "since" in op:
        out["since"] = op["since"]
    for key in ("upgrade", "websocketProtocol"):
        if key in op:
            out[key] = op[key]
    params = [{k: p[k] for k in _PARAM_KEYS if k in p} for p in op.get("parameters", [])]
    if params:
        out["params"] = params
    errors = [e["code"] for e in op.get("errorResponses", [])]
    if errors:
        out["errors"] = errors
    return out


def _model(model: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key in ("extends", "discriminator"):
        if key in model:
            out[key] = model[key]
    out["properties"] = {
        name: {k: prop[k] for k in _PROPERTY_KEYS if k in prop} for name, prop in model.get("properties", {}).items()
    }
    if "subTypes" in model:
        out["subTypes"] = model["subTypes"]
    return out


def convert(folder: str, asterisk: str) -> Dict[str, Any]:
    """Read ``folder`` (holding resources.json and api-docs/) and return the carried dict."""
    with open(os.path.join(folder, "resources.json"), encoding="utf-8") as f:
        listing = json.load(f)
    resources = []
    for name in _resource_names(listing):
        with open(os.path.join(folder, "api-docs", name + ".json"), encoding="utf-8") as f:
            doc = json.load(f)
        res: Dict[str, Any] = {"name": name, "apiVersion": doc["apiVersion"]}
        if doc.get("swaggerVersion") != listing["swaggerVersion"]:
            res["swaggerVersion"] = doc["swaggerVersion"]  # events.json says "1.2"
        for key in ("since", "requiresModules"):
            if key in doc:
                res[key] = doc[key]
        res["apis"] = [
            {"path": api["path"], "operations": [_operation(op) for op in api["operations"]]} for api in doc["apis"]
        ]
        res["models"] = {mid: _model(m) for mid, m in doc.get("models", {}).items()}
        resources.append(res)
    return {
        "format": FORMAT,
        "asterisk": asterisk,
        "apiVersion": listing["apiVersion"],
        "swaggerVersion": listing["swaggerVersion"],
        "resources": resources,
    }


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="an Asterisk api-docs folder (holding resources.json)")
    parser.add_argument("--asterisk", help="Asterisk version (default: the folder's name)")
    parser.add_argument("--out", help="output file (default: ari/testing/interface/ari-VER.json)")
    args = parser.parse_args(argv)
    version = args.asterisk or os.path.basename(os.path.normpath(args.folder))
    out = args.out or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), os.pardir, "ari", "testing", "interface", f"ari-{version}.json"
    )
    carried = convert(args.folder, version)
    with open(out, "w", encoding="utf-8") as f:
        # One resource per line keeps diffs between releases readable and the file small.
        f.write("{\n")
        head = [(k, v) for k, v in carried.items() if k != "resources"]
        for k, v in head:
            f.write(f"{json.dumps(k)}: {json.dumps(v)},\n")
        f.write('"resources": [\n')
        for i, res in enumerate(carried["resources"]):
            sep = "," if i < len(carried["resources"]) - 1 else ""
            f.write(json.dumps(res, separators=(",", ":")) + sep + "\n")
        f.write("]\n}\n")
    print(f"wrote {os.path.normpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
