"""Validate rendered Kubernetes manifests offline, strictly.

    python infra/k8s/validate.py [--k8s-version 1.30.0 ...] [--json] FILE|-  ...

Built-in kinds: kubernetes-validate's strict JSON schemas (shipped inside its
wheel, generated from the Kubernetes OpenAPI; additionalProperties false, so a
misspelt field fails). The CRD kinds tangent uses (KEDA ScaledObject and
TriggerAuthentication, Prometheus Operator ServiceMonitor): the strict schemas in infra/k8s/schemas/,
whose ObjectMeta/LabelSelector/HPA-behavior parts reference the same
Kubernetes definitions. A kind with no schema is an error, not a skip.

Run through infra/k8s/validate.sh, which installs the venv. Exit 0 iff every
document passes for every requested Kubernetes version.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import referencing
import yaml
from kubernetes_validate import utils as kv_utils

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda-v1alpha1.json",
}


def definitions(version: str) -> dict:
    """The strict Kubernetes definitions of a version, as kubernetes-validate ships them."""
    known = [v for v in kv_utils.all_versions() if kv_utils.major_minor(v) <= kv_utils.major_minor(version)]
    if not known:
        raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {version}")
    return kv_utils.schema_contents(f"kubernetes-json-schema/v{known[-1]}-local-strict/_definitions.json", version)


def crd_validator(schema_file: str, version: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / schema_file).read_text())
    defs = definitions(version)
    registry = referencing.Registry().with_resources(
        [
            ("/api/_definitions.json", referencing.Resource.from_contents(defs)),
            (schema["$id"], referencing.Resource.from_contents(schema)),
        ]
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def error_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(root)"


def validate_document(doc: dict, version: str) -> tuple[str, str]:
    """Returns (schema used, error message or '')."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in CRD_SCHEMAS:
        validator = crd_validator(CRD_SCHEMAS[key], version)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        where = f"infra/k8s/schemas/{CRD_SCHEMAS[key]}"
        return where, "; ".join(f"{error_path(e)}: {e.message}" for e in errors[:5])
    try:
        used = kubernetes_validate.validate(doc, version, strict=True)
        return f"kubernetes-validate {kubernetes_validate.__version__} strict, Kubernetes {used}", ""
    except kubernetes_validate.ValidationError as e:
        return f"kubernetes-validate strict, Kubernetes {e.version}", f"{error_path(e)}: {e.message}"
    except kubernetes_validate.SchemaNotFoundError as e:
        return "none", e.message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="rendered manifests (multi-document YAML); - for stdin")
    parser.add_argument("--k8s-version", action="append", dest="versions", help="Kubernetes version(s), default 1.30.0 and the newest shipped")
    parser.add_argument("--json", action="store_true", help="one JSON object per document and version on stdout")
    args = parser.parse_args()
    versions = args.versions or ["1.30.0", kv_utils.latest_version()]
    failures = 0
    count = 0
    for name in args.files:
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            ident = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
            for version in versions:
                count += 1
                schema, error = validate_document(doc, version)
                failures += bool(error)
                if args.json:
                    print(json.dumps({"file": name, "resource": ident, "apiVersion": doc.get("apiVersion"),
                                      "k8sVersion": version, "schema": schema, "ok": not error, "error": error}))
                else:
                    status = "ok  " if not error else "FAIL"
                    print(f"{status} {ident} ({doc.get('apiVersion')}) k8s {version} [{schema}]" + (f": {error}" if error else ""))
    if count == 0:
        print("no Kubernetes documents found", file=sys.stderr)
        return 1
    print(f"[k8s] {count - failures} valid, {failures} invalid (documents x Kubernetes versions)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
