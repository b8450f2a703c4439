"""Checks Kubernetes core objects (ConfigMap, Service, Deployment, StatefulSet, ...) against the
models of Kubernetes' own Python client (PyPI `kubernetes`, generated from the API server's
OpenAPI spec), as strictly as `kubectl apply` with strict field validation: an unknown field,
a value of the wrong type, or a missing required field is an error.

    check_core.py < objects.json      (a JSON list of objects; prints one line per problem)

Exit status 1 when any object has a problem. Kubernetes cannot run here; this is its schema.
"""

import json
import re
import sys

import kubernetes.client as k8s
from kubernetes.client import ApiClient

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def model_of(obj):
    version = obj.get("apiVersion", "").split("/")[-1]
    return getattr(k8s, version.capitalize() + obj.get("kind", ""), None)


def check(value, kind, at, problems):
    """`kind` is an openapi_types name: a model, str, int, list[X], dict(str, X), object."""
    if value is None:
        return
    if kind in PRIMITIVES:
        if not isinstance(value, PRIMITIVES[kind]) or isinstance(value, bool) != (kind == "bool"):
            problems.append(f"{at}: {value!r} is not {kind}")
        return
    if kind in ("object", "datetime"):
        return
    listed = re.fullmatch(r"list\[(.+)\]", kind)
    if listed:
        if not isinstance(value, list):
            problems.append(f"{at}: not a list")
            return
        for i, item in enumerate(value):
            check(item, listed.group(1), f"{at}[{i}]", problems)
        return
    mapped = re.fullmatch(r"dict\(str, (.+)\)", kind)
    if mapped:
        if not isinstance(value, dict):
            problems.append(f"{at}: not a map")
            return
        for key, item in value.items():
            check(item, mapped.group(1), f"{at}.{key}", problems)
        return
    model = getattr(k8s, kind)
    if not isinstance(value, dict):
        problems.append(f"{at}: not an object ({kind})")
        return
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            problems.append(f"{at}.{key}: unknown field of {kind}")
            continue
        check(item, model.openapi_types[by_json[key]], f"{at}.{key}", problems)


def main():
    objects = json.load(sys.stdin)
    problems = []
    client = ApiClient()
    for i, obj in enumerate(objects):
        model = model_of(obj)
        at = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if model is None:
            problems.append(f"{at}: no Kubernetes model for {obj.get('apiVersion')} {obj.get('kind')}")
            continue
        check(obj, model.__name__, at, problems)
        try:
            # The models refuse a missing required field (containers, selector, ports...).
            client._ApiClient__deserialize(obj, model.__name__)
        except ValueError as e:
            problems.append(f"{at}: {e}")
    for line in problems:
        print(line)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
