"""The deployment files, checked offline: Kubernetes manifests (deploy/k8s) and the compose file.

Minimal JSON schemas for the parts of apps/v1 Deployment and v1 Service that the project relies
on (validated with jsonschema), then the rules that matter for serving: probes on BentoML's
/readyz and /livez at the container's port, non-root user of the image, read-only root file
system with writable mounts where BentoML writes, resources, selectors that match.
"""

from __future__ import annotations

import re

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
LABELS = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {"type": "string", "maxLength": 63},
}
METADATA = {
    "type": "object",
    "required": ["name", "labels"],
    "properties": {"name": NAME, "labels": LABELS},
}
PORT = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, NAME]}
QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi)?$"}
RESOURCES = {
    "type": "object",
    "required": ["cpu", "memory"],
    "properties": {"cpu": QUANTITY, "memory": QUANTITY},
}
PROBE = {
    "type": "object",
    "required": ["httpGet"],
    "properties": {
        "httpGet": {
            "type": "object",
            "required": ["path", "port"],
            "properties": {"path": {"type": "string", "pattern": "^/"}, "port": PORT},
        },
        "periodSeconds": {"type": "integer", "minimum": 1},
        "timeoutSeconds": {"type": "integer", "minimum": 1},
        "failureThreshold": {"type": "integer", "minimum": 1},
    },
}
CONTAINER = {
    "type": "object",
    "required": ["name", "image", "ports", "resources", "readinessProbe", "livenessProbe"],
    "properties": {
        "name": NAME,
        "image": {"type": "string", "minLength": 1},
        "ports": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["containerPort"],
                "properties": {"containerPort": PORT, "name": {"type": "string"}},
            },
        },
        "env": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "value"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
            },
        },
        "resources": {
            "type": "object",
            "required": ["requests", "limits"],
            "properties": {"requests": RESOURCES, "limits": RESOURCES},
        },
        "readinessProbe": PROBE,
        "livenessProbe": PROBE,
        "startupProbe": PROBE,
        "securityContext": {"type": "object"},
        "volumeMounts": {
            "type": "array",
            "items": {"type": "object", "required": ["name", "mountPath"]},
        },
    },
}


def _resource(api_version: str, kind: str, spec: dict) -> dict:
    """Schema of one Kubernetes object: apiVersion, kind, metadata and the given spec."""
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": METADATA,
            "spec": spec,
        },
    }


DEPLOYMENT = _resource(
    "apps/v1",
    "Deployment",
    {
        "type": "object",
        "required": ["selector", "template"],
        "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "selector": {
                "type": "object",
                "required": ["matchLabels"],
                "properties": {"matchLabels": LABELS},
            },
            "template": {
                "type": "object",
                "required": ["metadata", "spec"],
                "properties": {
                    "metadata": {
                        "type": "object",
                        "required": ["labels"],
                        "properties": {"labels": LABELS},
                    },
                    "spec": {
                        "type": "object",
                        "required": ["containers"],
                        "properties": {
                            "containers": {"type": "array", "minItems": 1, "items": CONTAINER},
                            "securityContext": {"type": "object"},
                            "volumes": {
                                "type": "array",
                                "items": {"type": "object", "required": ["name"]},
                            },
                        },
                    },
                },
            },
        },
    },
)
SERVICE = _resource(
    "v1",
    "Service",
    {
        "type": "object",
        "required": ["selector", "ports"],
        "properties": {
            "type": {"enum": ["ClusterIP"]},
            "selector": LABELS,
            "ports": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["port", "targetPort"],
                    "properties": {"port": PORT, "targetPort": PORT},
                },
            },
        },
    },
)


def _load(name: str) -> dict:
    docs = [d for d in yaml.safe_load_all((K8S / name).read_text()) if d is not None]
    assert len(docs) == 1, f"{name}: one object per file"
    return docs[0]


def _validate(doc: dict, schema: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def _cpu(q: str) -> float:
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def _bytes(q: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if q.endswith(suffix):
            return float(q[: -len(suffix)]) * factor
    return float(q)


def _dockerfile(key: str) -> str:
    """A value the serving image's Dockerfile sets (USER, EXPOSE, or an ENV variable)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    final = text.split("FROM runtime", 1)[-1] if key in ("USER", "EXPOSE") else text
    if key in ("USER", "EXPOSE"):
        return re.findall(rf"^{key}\s+(\S+)", final, flags=re.M)[-1]
    return re.findall(rf"\b{key}=(\S+)", text)[-1]


@pytest.fixture(scope="module")
def deployment() -> dict:
    return _load("deployment.yaml")


@pytest.fixture(scope="module")
def service() -> dict:
    return _load("service.yaml")


@pytest.fixture(scope="module")
def container(deployment) -> dict:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def test_manifests_match_the_schemas(deployment, service):
    _validate(deployment, DEPLOYMENT)
    _validate(service, SERVICE)


def test_schemas_reject_broken_manifests(deployment):
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    del broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    broken["spec"]["replicas"] = "2"
    errors = list(jsonschema.Draft202012Validator(DEPLOYMENT).iter_errors(broken))
    assert len(errors) == 2


def test_image_is_the_published_one(container):
    assert re.fullmatch(r"ghcr\.io/[^/]+/multitask-transformer(:[\w.-]+|@sha256:[0-9a-f]{64})",
                        container["image"]), container["image"]  # fmt: skip


def test_probes_hit_bentoml_health_endpoints_on_the_served_port(container):
    ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    assert 3000 in ports.values() and str(3000) == _dockerfile("EXPOSE")

    def port_of(probe: dict) -> int:
        port = probe["httpGet"]["port"]
        return ports[port] if isinstance(port, str) else port

    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        if kind in container:
            assert port_of(container[kind]) == 3000, kind
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    assert env.get("BENTOML_PORT", "3000") == "3000"


def test_runs_as_the_images_non_root_user_with_a_read_only_root(deployment, container):
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    ctx = container["securityContext"]
    uid = int(_dockerfile("USER").split(":")[0])
    assert uid == 10001
    for level in (pod, ctx):
        assert level.get("runAsNonRoot") is True
        assert level.get("runAsUser", uid) == uid
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"]["drop"] == ["ALL"]
    # BentoML writes its Prometheus folder inside BENTOML_HOME, and temp files: both mounted.
    volumes = {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    home = _dockerfile("BENTOML_HOME")
    assert f"{home}/prometheus_multiproc_dir" in mounts and "/tmp" in mounts
    assert set(mounts.values()) <= volumes
    assert home not in mounts, "the model store must stay the image's (read-only)"


def test_resources_and_worker_settings_fit_together(container):
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    assert _cpu(requests["cpu"]) <= _cpu(limits["cpu"])
    assert _bytes(requests["memory"]) <= _bytes(limits["memory"])
    assert _bytes(requests["memory"]) >= 512 * 2**20, "torch + the model need at least 512 MiB"
    env = {e["name"]: e["value"] for e in container["env"]}
    workers, threads = int(env["MULTITASK_WORKERS"]), int(env["MULTITASK_TORCH_THREADS"])
    assert workers >= 1 and threads >= 1
    assert workers * threads <= max(1, round(_cpu(limits["cpu"]))), "no oversubscribed CPUs"


def test_selectors_match_the_pod_labels(deployment, service, container):
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    for port in service["spec"]["ports"]:
        target = port["targetPort"]
        assert (ports.get(target) if isinstance(target, str) else target) == 3000


def test_kustomization_lists_the_manifests():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert all((K8S / r).is_file() for r in kustomization["resources"])
    assert {"deployment.yaml", "service.yaml"} <= set(kustomization["resources"])


def test_compose_tracking_server_uses_postgres_and_s3_without_secrets():
    text = (ROOT / "deploy" / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    assert {"postgres", "minio", "mlflow"} <= set(compose["services"])
    mlflow = compose["services"]["mlflow"]
    command = " ".join(mlflow["command"])
    assert mlflow["environment"]["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://")
    assert "--artifacts-destination s3://" in command and "--backend-store-uri" not in command
    assert mlflow["environment"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert all(p.startswith("127.0.0.1:") for p in mlflow["ports"]), "loopback unless proxied"
    # Secrets only by reference: every password and key is a ${VARIABLE}.
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET", key):
                assert re.fullmatch(r"\$\{\w+(:\?[^}]*)?\}", str(value)), key
    assert "mlflow==3.17.2" in text, "the server runs the project's MLflow version"
