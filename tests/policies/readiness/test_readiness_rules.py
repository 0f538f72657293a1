"""Deploy readiness on the real program: its preview, as AnalyzeStack carries it, is the compliant
baseline; each case changes one thing a first `pulumi up` depends on (a dependency dropped, a
StorageClass removed, an image moved) and asserts that exactly its rule fires, with its message.
"""
import copy

import pytest

from policy_baseline import context

from governance import catalog
from governance.readiness import rules as readiness
from governance.model import Resource

GROUP = "deploy-readiness"
SPECS = [s for s in catalog.SPECS if s.group == GROUP]
STACKS = ("production", "staging", "dev")
CLIENT_MAJOR = readiness.PG_CLIENT_MAJOR_ANNOTATION

SM, ES = "aws:secretsmanager/secret:Secret", "kubernetes:external-secrets.io/v1:ExternalSecret"
SA, SC = "kubernetes:core/v1:ServiceAccount", "kubernetes:storage.k8s.io/v1:StorageClass"
NG, ADDON, RELEASE = "aws:eks/nodeGroup:NodeGroup", "aws:eks/addon:Addon", "kubernetes:helm.sh/v3:Release"
DEP, CRON, SMON = "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob", "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STORE = "kubernetes:external-secrets.io/v1:SecretStore"
ACCESS = ("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "aws:eks/accessEntry:AccessEntry")


@pytest.fixture(scope="module")
def previews():
    from tests.helpers import run_program

    return {stack: run_program(stack).resources for stack in STACKS}


@pytest.fixture
def prod(previews):
    return copy.deepcopy(previews["production"])


def model(records):
    """The records as the pack's stack policies see them: outputs (a preview's new resource shows its
    inputs), each with its provider's properties, dependencies and parent."""
    providers = {r["urn"]: r for r in records if r["type"].startswith("pulumi:providers:")}
    out = []
    for r in records:
        p = providers.get((r.get("provider") or "").rsplit("::", 1)[0])
        out.append(Resource(r["type"], r["urn"], r["name"], copy.deepcopy(r["outputs"] or r["inputs"]),
                            copy.deepcopy(p["outputs"] or p["inputs"]) if p else None,
                            tuple(r["dependencies"]), r["parent"] or ""))
    return out


def environment(stack):
    return {"production": "production", "staging": "staging"}.get(stack, "dev")


def verdicts(records, stack="production"):
    ctx = context(stack, environment=environment(stack))
    m = model(records)
    return [(spec.name, urn, message) for spec in SPECS for message, urn in catalog.check_stack(spec, m, ctx)]


# --- mutation helpers: each changes inputs and outputs alike ---------------------------------
def one(records, typ, suffix):
    found = [r for r in records if r["type"] == typ and r["name"].endswith(suffix)]
    assert len(found) == 1, (typ, suffix, [r["name"] for r in found])
    return found[0]


def set_in(r, path, value):
    for side in ("inputs", "outputs"):
        node = r[side]
        *parents, last = path
        for part in parents:
            node = node[part] if isinstance(node, list) else node.setdefault(part, {})
        node[last] = value


def remove(records, r):
    records.remove(r)
    for other in records:
        other["dependencies"] = [d for d in other["dependencies"] if d != r["urn"]]


def drop_dependency(r, on):
    assert on["urn"] in r["dependencies"], (r["name"], on["name"])
    r["dependencies"] = [d for d in r["dependencies"] if d != on["urn"]]


def annotate_client_major(records, value):
    """The backup CronJobs carrying the client major the image installs, as the program must write it."""
    for r in records:
        if r["type"] == CRON and r["inputs"]["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "pgbackup":
            for side in ("inputs", "outputs"):
                r[side]["metadata"].setdefault("annotations", {})[CLIENT_MAJOR] = value


def new_violations(before, after):
    seen = set(before)
    return [v for v in after if v not in seen]


# --- the catalog -------------------------------------------------------------------------------
def test_the_group_is_every_rule_and_its_forecast():
    assert catalog.names_in_group(GROUP) == (*readiness.RULES, readiness.FORECAST)
    for spec in SPECS:
        assert spec.kind == "stack"
        assert spec.enforcement == ("advisory" if spec.name == readiness.FORECAST else "mandatory")


# --- the acceptance test: every stack previews with no deploy-readiness violation ---------------
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_previews_deploy_ready(previews, stack):
    assert verdicts(previews[stack], stack) == []


# --- one mutation, one rule ---------------------------------------------------------------------
def _crd_dependency(records):
    sm = one(records, SMON, "servicemonitor-workload-api")
    drop_dependency(sm, one(records, RELEASE, "kube-prometheus-stack"))
    return [("kubernetes-custom-resource-after-crd", sm["urn"],
             "ServiceMonitor monitoring/workload-api: does not wait for leadgen-production-obs-kube-prometheus-stack, "
             "which installs the monitoring.coreos.com CRDs; a first update may send it before the CRD exists")]


def _crd_switched_off(records):
    kps = one(records, RELEASE, "kube-prometheus-stack")
    set_in(kps, ("values", "crds"), {"enabled": False})
    return [("kubernetes-custom-resource-after-crd", r["urn"], f"{r['type'].rsplit(':', 1)[1]} "
             f"{r['inputs']['metadata']['namespace']}/{r['inputs']['metadata']['name']}: nothing in the stack installs "
             "the monitoring.coreos.com CRDs (known installers: kube-prometheus-stack, prometheus-operator-crds); "
             "the API server would refuse it")
            for r in records if r["type"].startswith("kubernetes:monitoring.coreos.com/")]


def _secret_not_declared(records):
    remove(records, one(records, ES, "obs-leadgen-grafana-admin"))
    kps = one(records, RELEASE, "kube-prometheus-stack")
    return [("kubernetes-references-declared", kps["urn"],
             "Release leadgen-production-obs-kube-prometheus-stack: refers to Secret monitoring/leadgen-grafana-admin, "
             "which the stack does not declare and prerequisites.yaml does not list as a prerequisite")]


def _secrets_manager_entry_not_declared(records):
    remove(records, one(records, SM, "obs-grafana-admin"))
    es = one(records, ES, "obs-leadgen-grafana-admin")
    return [("kubernetes-references-declared", es["urn"],
             "ExternalSecret monitoring/leadgen-grafana-admin: refers to Secrets Manager entry "
             "insurance-lead-gen/production/grafana-admin, which the stack does not declare and prerequisites.yaml "
             "does not list as a prerequisite")]


def _service_account_not_declared(records):
    remove(records, one(records, SA, "api-sa"))
    # The canary runs as the stable track's account (one IRSA role per workload), and the workload's
    # SecretStore authenticates as it: all three refer to it.
    missing = "refers to ServiceAccount production/api, which the stack does not declare and " \
              "prerequisites.yaml does not list as a prerequisite"
    return [*(("kubernetes-references-declared", one(records, DEP, f"{name}-deployment")["urn"],
               f"Deployment production/{name}: {missing}") for name in ("api", "api-canary")),
            ("kubernetes-references-declared", one(records, STORE, "leadgen-production-api-secret-store")["urn"],
             f"SecretStore production/api-aws: {missing}")]


def _storage_class_removed(records):
    remove(records, one(records, SC, "gp3"))
    out = []
    for suffix, where in (("obs-tempo", "ingester.persistence"), ("obs-loki", "singleBinary.persistence"),
                          ("obs-kube-prometheus-stack", "prometheus.prometheusSpec.storageSpec.volumeClaimTemplate"),
                          ("obs-kube-prometheus-stack", "alertmanager.alertmanagerSpec.storage.volumeClaimTemplate"),
                          ("obs-pushgateway", "persistentVolume")):
        r = one(records, RELEASE, suffix)
        out.append(("kubernetes-volume-claim-storage-class", r["urn"],
                    f"Release {r['name']} values {where}: claims StorageClass gp3, which the stack does not declare; "
                    "it would stay Pending"))
    return out


def _claim_without_default_class(records):
    sc = one(records, SC, "gp3")
    set_in(sc, ("metadata", "annotations"), {})
    pvc = copy.deepcopy(one(records, SA, "api-sa"))
    pvc.update(type=PVC, name="scratch", urn=pvc["urn"].replace(SA, PVC).replace("::api-sa", "::scratch"))
    for side in ("inputs", "outputs"):
        pvc[side] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "scratch", "namespace": "production"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    records.append(pvc)
    return [("kubernetes-volume-claim-storage-class", pvc["urn"],
             "PersistentVolumeClaim production/scratch: claims a volume without a StorageClass and the stack "
             "declares no default StorageClass (EKS has none since 1.30); it would stay Pending")]


def _node_group_before_cni(records):
    ng = one(records, NG, "general-ng")
    cni = next(r for r in records if r["type"] == ADDON and r["inputs"]["addonName"] == "vpc-cni")
    drop_dependency(ng, cni)
    return [("aws-eks-node-group-after-cni", ng["urn"],
             "leadgen-production-general-ng: does not wait for the vpc-cni add-on; its nodes may join before the CNI "
             "has its IAM role and stay NotReady")]


def _kubernetes_before_access(records):
    provider = one(records, "pulumi:providers:kubernetes", "-k8s")
    provider["dependencies"] = [d for d in provider["dependencies"]
                                if not any(f"::{t}::" in d or f"${t}::" in d for t in ACCESS)]
    # Components (the CRD files) reach the cluster only through their objects, never themselves.
    stranded = [r for r in records if r["type"].startswith("kubernetes:") and r["custom"]]
    assert len(stranded) > 20
    return ("kubernetes-after-cluster-access", provider["urn"], f"{len(stranded)} Kubernetes resources (")


def _gpu_without_device_plugin(records):
    remove(records, one(records, RELEASE, "nvidia-device-plugin"))
    ng = one(records, NG, "gpu-ng")
    return [("aws-eks-gpu-node-group-device-plugin", ng["urn"],
             "leadgen-production-gpu-ng: a GPU node group without a device plugin (the NVIDIA device plugin chart or "
             "DaemonSet): its nodes advertise no nvidia.com/gpu and GPU pods stay Pending")]


def _network_policy_not_enforced(records):
    cni = next(r for r in records if r["type"] == ADDON and r["inputs"]["addonName"] == "vpc-cni")
    set_in(cni, ("configurationValues",), "{}")
    n = sum(r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy" for r in records)
    return [("kubernetes-network-policy-enforced", cni["urn"],
             f"{n} NetworkPolicies are not enforced: the vpc-cni add-on does not set enableNetworkPolicy and no other "
             "enforcing CNI is installed, so every namespace stays open")]


def _image_from_another_account(records):
    api = one(records, DEP, "api-deployment")
    image = "999999999999.dkr.ecr.us-east-1.amazonaws.com/leadgen-production/api:2.14.0"
    set_in(api, ("spec", "template", "spec", "containers", 0, "image"), image)
    return [("container-image-registry-owned", api["urn"],
             f"Deployment production/api: image {image} is in account 999999999999, not this stack's (123456789012)")]


def _image_from_an_undeclared_repository(records):
    api = one(records, DEP, "api-deployment")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/leadgen/api:2.14.0"
    set_in(api, ("spec", "template", "spec", "containers", 0, "image"), image)
    return [("container-image-registry-owned", api["urn"],
             f"Deployment production/api: image {image} names ECR repository leadgen/api, which the stack does not "
             "declare: the image would not exist")]


def _release_image_from_an_unknown_registry(records):
    otel = one(records, RELEASE, "obs-otel-collector")
    set_in(otel, ("values", "image", "repository"), "registry.example.com/otel/opentelemetry-collector-contrib")
    return [("container-image-registry-owned", otel["urn"],
             "Release leadgen-production-obs-otel-collector: image registry.example.com/otel/opentelemetry-collector-contrib "
             "comes from registry.example.com, which is neither the stack's ECR nor a public registry the pack allows "
             "(PUBLIC_REGISTRIES)")]


MUTATIONS = [_crd_dependency, _crd_switched_off, _secret_not_declared, _secrets_manager_entry_not_declared,
             _service_account_not_declared, _storage_class_removed, _claim_without_default_class,
             _node_group_before_cni, _gpu_without_device_plugin, _network_policy_not_enforced,
             _image_from_another_account, _image_from_an_undeclared_repository, _release_image_from_an_unknown_registry]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
def test_each_mutation_fires_its_rule_alone(prod, mutate):
    before = verdicts(prod)
    expected = mutate(prod)
    got = new_violations(before, verdicts(prod))
    assert sorted(got) == sorted(expected)
    assert not set(expected) & set(before)


def test_kubernetes_before_the_deployers_access_is_one_finding_on_the_provider(prod):
    before = verdicts(prod)
    policy, urn, start = _kubernetes_before_access(prod)
    got = new_violations(before, verdicts(prod))
    assert [(p, u) for p, u, _ in got] == [(policy, urn)]
    message = got[0][2]
    assert message.startswith(start)
    assert message.endswith("reach the cluster through provider leadgen-production-k8s before any aws:eks access "
                            "entry or access policy association exists: the deployer would get Unauthorized")


def test_a_resource_that_waits_for_the_access_itself_needs_no_provider_that_does(prod):
    provider = one(prod, "pulumi:providers:kubernetes", "-k8s")
    access = [d for d in provider["dependencies"] if any(f"::{t}::" in d or f"${t}::" in d for t in ACCESS)]
    provider["dependencies"] = [d for d in provider["dependencies"] if d not in access]
    for r in prod:
        if r["type"].startswith("kubernetes:"):
            r["dependencies"] = [*r["dependencies"], *access]
    assert [v for v in verdicts(prod) if v[0] == "kubernetes-after-cluster-access"] == []


# --- the backup client ---------------------------------------------------------------------------
def test_the_backup_client_must_be_at_least_the_servers_major(prod):
    annotate_client_major(prod, "17")
    assert [v for v in verdicts(prod) if v[0] == "backup-job-pg-client-supports-server"] == []
    annotate_client_major(prod, "15")
    got = [v for v in verdicts(prod) if v[0] == "backup-job-pg-client-supports-server"]
    assert sorted(m for _, _, m in got) == [
        f"CronJob production/{name}: its PostgreSQL client is 15 ({CLIENT_MAJOR}) but leadgen-production-postgres runs "
        "17.9: pg_dump refuses a newer server, so every backup would fail" for name in ("pgbackup-backup", "pgbackup-verify")]


def test_the_backup_job_must_say_which_client_its_image_installs(prod):
    annotate_client_major(prod, "17")
    backup = one(prod, CRON, "pgbackup-backup")
    for side in ("inputs", "outputs"):
        del backup[side]["metadata"]["annotations"][CLIENT_MAJOR]
    got = [v for v in verdicts(prod) if v[0] == "backup-job-pg-client-supports-server"]
    assert got == [("backup-job-pg-client-supports-server", backup["urn"],
                    f"CronJob production/pgbackup-backup: does not say which PostgreSQL client its image installs "
                    f"(annotation {CLIENT_MAJOR}); leadgen-production-postgres runs PostgreSQL 17.9")]


def test_the_image_client_major_is_what_the_program_must_annotate():
    # The Dockerfile's ARG is the one place the client major is written; a 17.x database needs >= 17.
    from jobs.pgbackup.client import image_client_major

    assert image_client_major() >= 17


# --- prerequisites, unknowns and protection ------------------------------------------------------
def test_a_documented_prerequisite_is_accepted(prod):
    remove(prod, one(prod, SM, "obs-grafana-admin"))
    m, ctx = model(prod), context("production", environment="production")
    assert list(readiness.references_declared(m, ctx)) != []
    listed = readiness.Prerequisites(secrets_manager=("insurance-lead-gen/*/grafana-admin",))
    assert list(readiness.references_declared(m, ctx, listed)) == []


def test_the_prerequisites_file_reads_as_documented(tmp_path):
    path = tmp_path / "prerequisites.yaml"
    path.write_text("kubernetes:\n  secrets: [monitoring/smtp-relay]\n  configMaps: []\n"
                    "  serviceAccounts: ['*/ci-runner']\nsecretsManager: ['insurance-lead-gen/*/grafana-admin']\n")
    listed = readiness.load_prerequisites(path)
    assert listed.lists("Secret", "monitoring/smtp-relay") and not listed.lists("Secret", "monitoring/other")
    assert listed.lists("ServiceAccount", "production/ci-runner") and not listed.lists("ConfigMap", "production/ci-runner")
    assert listed.lists("Secrets Manager entry", "insurance-lead-gen/staging/grafana-admin")


def test_every_listed_prerequisite_is_still_needed(previews):
    """An entry no stack refers to, or one a stack now declares itself, is stale: the list stays the
    few things an operator must create by hand."""
    listed = readiness.load_prerequisites()
    entries = [("Secret", e) for e in listed.secrets] + [("ConfigMap", e) for e in listed.config_maps] \
        + [("ServiceAccount", e) for e in listed.service_accounts] \
        + [("Secrets Manager entry", e) for e in listed.secrets_manager]
    for kind, entry in entries:
        needed = False
        for stack, records in previews.items():
            m = model(records)
            declared = readiness.declared_objects(m)[kind]
            for r in m:
                for ref_kind, ns, name in readiness.references_of(r):
                    key = name if kind == "Secrets Manager entry" else f"{ns}/{name}"
                    if ref_kind == kind and readiness.Prerequisites(**{
                            {"Secret": "secrets", "ConfigMap": "config_maps", "ServiceAccount": "service_accounts",
                             "Secrets Manager entry": "secrets_manager"}[kind]: (entry,)}).lists(kind, key):
                        needed = needed or (name not in declared and (ns, name) not in declared)
        assert needed, f"{kind} {entry} in prerequisites.yaml: no stack needs it"


def test_values_unknown_at_preview_skip_only_what_reads_them(prod):
    cni = next(r for r in prod if r["type"] == ADDON and r["inputs"]["addonName"] == "vpc-cni")
    set_in(cni, ("configurationValues",), "04da6b54-80e4-46f7-96ec-b56ff0331ba9")
    api = one(prod, DEP, "api-deployment")
    set_in(api, ("spec", "template", "spec", "containers", 0, "image"), "04da6b54-80e4-46f7-96ec-b56ff0331ba9")
    before = verdicts(prod)
    remove(prod, one(prod, RELEASE, "nvidia-device-plugin"))
    assert [v[0] for v in new_violations(before, verdicts(prod))] == ["aws-eks-gpu-node-group-device-plugin"]
    assert not [v for v in before if v[0] in ("kubernetes-network-policy-enforced", "container-image-registry-owned")]


def test_a_stack_that_is_not_protected_gets_the_forecast_as_advice(previews):
    dev = copy.deepcopy(previews["dev"])
    before = verdicts(dev, "dev")
    ng = one(dev, NG, "general-ng")
    drop_dependency(ng, next(r for r in dev if r["type"] == ADDON and r["inputs"]["addonName"] == "vpc-cni"))
    got = new_violations(before, verdicts(dev, "dev"))
    assert got == [(readiness.FORECAST, ng["urn"],
                    "aws-eks-node-group-after-cni: leadgen-dev-general-ng: does not wait for the vpc-cni add-on; its "
                    "nodes may join before the CNI has its IAM role and stay NotReady")]
    assert catalog.BY_NAME[readiness.FORECAST].enforcement == "advisory"


# --- the pack as the CLI runs it -----------------------------------------------------------------
def test_the_pack_served_as_the_cli_serves_it_gives_the_same_verdict(prod):
    from platformctl.pack import PACK_DIR
    from platformctl.policy_client import PolicyClient

    remove(prod, one(prod, RELEASE, "nvidia-device-plugin"))
    node = one(prod, NG, "general-ng")
    drop_dependency(node, next(r for r in prod if r["type"] == ADDON and r["inputs"]["addonName"] == "vpc-cni"))
    expected = sorted((p, "mandatory", u, m) for p, u, m in verdicts(prod))
    config = {"leadgen:environment": "production"}
    with PolicyClient(PACK_DIR, project="leadgen", stack="production", config=config) as client:
        got = sorted((v.policy, v.level, v.urn, v.message) for v in client.analyze(prod)
                     if catalog.BY_NAME.get(v.policy) and catalog.BY_NAME[v.policy].group == GROUP)
    assert got == expected
    assert {p for p, *_ in got} >= {"aws-eks-gpu-node-group-device-plugin", "aws-eks-node-group-after-cni"}
