"""The weekly report's security section from recorded answers: the pack's guardrails over the
stack's state (as `audit --state` runs them), ECR scan findings of every image the stack runs, and
secrets past the rotation policy; an unread or malformed answer is "not assessed", never a pass."""
from __future__ import annotations

import pytest

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, NOT_ASSESSED, OK
from platformctl.weekly.sections import security
from sourcekit import Recorded, answer, context, rows, stack_config
from platformctl.project import stack_config as raw_config

# Production runs its images by digest: `<tag>@sha256:<digest>`, asked of ECR by digest.
API, BACKEND, PGBACKUP = (raw_config("production")[f"leadgen:{k}.tag"]
                          for k in ("workloads.api", "workloads.backend", "data.backup"))


def by_digest(tag: str) -> dict:
    return {"imageDigest": tag.split("@", 1)[1]}

P = "urn:pulumi:production::leadgen::"
TAGS = {"environment": "production", "owner": "platform-team@insurance-lead-gen.com", "cost-center": "leadgen-platform"}


def small_export(outputs: dict) -> dict:
    """A stack whose only resource is a compliant KMS key: nothing for a guardrail to find."""
    key = {"description": "x", "enableKeyRotation": True, "deletionWindowInDays": 30, "tags": TAGS, "tagsAll": TAGS,
           "keyUsage": "ENCRYPT_DECRYPT", "customerMasterKeySpec": "SYMMETRIC_DEFAULT"}
    return {"version": 3, "deployment": {"manifest": {}, "resources": [
        {"urn": P + "pulumi:pulumi:Stack::leadgen-production", "type": "pulumi:pulumi:Stack", "custom": False,
         "outputs": outputs},
        {"urn": P + "pulumi:providers:aws::default", "type": "pulumi:providers:aws", "custom": True, "id": "p1",
         "inputs": {"region": "us-east-1"}, "outputs": {"region": "us-east-1"}},
        {"urn": P + "aws:kms/key:Key::k", "type": "aws:kms/key:Key", "custom": True, "id": "k1",
         "provider": P + "pulumi:providers:aws::default::p1", "parent": P + "pulumi:pulumi:Stack::leadgen-production",
         "inputs": key, "outputs": dict(key, arn="arn:aws:kms:us-east-1:123456789012:key/1")}]}}


def clean(fetch: Recorded) -> Recorded:
    """Every part passing: a compliant state, clean recent scans, secrets within the policy."""
    fetch.replace("pulumi", "stack-export", small_export({"clusterName": "leadgen-production-eks"}))
    for label in ("api", "backend"):
        doc = answer("ecr", f"DescribeImageScanFindings.{label}")
        doc["imageScanFindings"]["findingSeverityCounts"] = {"LOW": 3}
        fetch.replace("ecr", f"DescribeImageScanFindings.{label}", doc)
    page = answer("secretsmanager", "ListSecrets.page1")
    page["SecretList"][1]["LastChangedDate"] = "2026-10-30T08:00:00+00:00"
    return fetch.replace("secretsmanager", "ListSecrets.page1", page)


def assess(fetch, **kw):
    return security.assess(context(fetch, **kw))


def test_recorded_week_gives_the_guardrails_the_scans_and_the_stale_secret():
    fetch = Recorded()
    section = assess(fetch)
    assert (section.key, section.title, section.status) == ("security", "Security", ACTION_NEEDED)
    need = rows(section, ACTION_NEEDED)
    # The recorded state has no mandatory finding (`platformctl audit --state` agrees with the
    # preview: tests/audit/test_audit_matches_preview.py), only the advisory ones.
    assert not [k for k in need if not k.startswith(("image ", "secret "))]
    assert need["image api"] == (f"leadgen-production/api:{API}: 2 high, 5 medium, 11 low, 3 informational "
                                 "(scanned 2026-11-20)")
    assert rows(section, ATTENTION)["image backend"] == f"leadgen-production/backend:{BACKEND}: 1 medium, 4 low (scanned 2026-11-20)"
    assert rows(section, OK)["image pgbackup"] == f"leadgen-production/pgbackup:{PGBACKUP}: no findings (scanned 2026-11-18)"
    assert need["secret insurance-lead-gen/production/grafana-admin"] == (
        "changed 203 day(s) ago (2026-05-10), no automatic rotation; older than the 90-day rotation policy")
    assert section.figure == ("guardrails: 0 mandatory, 3 advisory finding(s) over 312 resources; images: 3 image(s): "
                              "api action needed, backend attention, pgbackup ok; secrets: 6 secret(s), 1 older than the "
                              "90-day rotation policy or overdue for their rotation")
    # The images the config declares, asked of ECR by repository and tag; both pages of secrets read.
    asked = [(p["repositoryName"], p["imageId"]) for s, _, p in fetch.calls if s == "ecr"]
    assert asked == [("leadgen-production/api", by_digest(API)), ("leadgen-production/backend", by_digest(BACKEND)),
                     ("leadgen-production/pgbackup", by_digest(PGBACKUP))]
    assert [p.get("NextToken") for s, _, p in fetch.calls if s == "secretsmanager"] == [None, "AYADeH0ExampleNextTokenPage2"]


def test_a_mandatory_guardrail_finding_in_state_is_action_needed():
    fetch = clean(Recorded())
    export = small_export({"clusterName": "leadgen-production-eks"})
    key = export["deployment"]["resources"][2]
    for props in (key["inputs"], key["outputs"]):
        props["enableKeyRotation"] = False
    section = assess(fetch.replace("pulumi", "stack-export", export))
    assert section.status == ACTION_NEEDED
    assert rows(section, ACTION_NEEDED) == {"aws-kms-key-rotation-enabled": "mandatory, high: k: k: enableKeyRotation "
                                                                            "must be true"}
    assert section.figure.startswith("guardrails: 1 mandatory, 0 advisory finding(s) over 3 resources;")


def test_every_part_passing_is_ok():
    section = assess(clean(Recorded()))
    assert section.status == OK, section.rows
    assert section.figure.startswith("guardrails: 0 mandatory, 0 advisory finding(s) over 3 resources;")


def test_an_advisory_finding_needs_attention():
    doc = small_export({"clusterName": "leadgen-production-eks"})
    # An update interrupted while creating a bucket: the audit's advisory finding.
    doc["deployment"]["pending_operations"] = [{"type": "creating", "resource": {
        "urn": P + "aws:s3/bucket:Bucket::logs", "type": "aws:s3/bucket:Bucket"}}]
    section = assess(clean(Recorded()).replace("pulumi", "stack-export", doc))
    assert section.status == ATTENTION
    assert rows(section, ATTENTION)["audit-pending-operation"].startswith(
        "advisory, high: logs: interrupted creating operation on aws:s3/bucket:Bucket")


def test_a_state_no_policy_can_judge_is_not_assessed_never_a_pass():
    doc = small_export({"clusterName": "c"})
    doc["deployment"]["resources"][2].update(type="gcp:storage/bucket:Bucket",
                                             urn=P + "gcp:storage/bucket:Bucket::b")
    section = assess(clean(Recorded()).replace("pulumi", "stack-export", doc))
    assert section.status == NOT_ASSESSED
    assert section.reason.startswith("guardrails: NOT ASSESSED: policies judge only 0 of its 1 resources")


def test_without_the_state_the_guardrails_are_not_assessed_and_the_rest_still_judged():
    section = assess(clean(Recorded()).down("pulumi", reason="the pulumi CLI is not on PATH"))
    assert section.status == NOT_ASSESSED
    assert section.reason == "guardrails: pulumi stack export unreachable: pulumi: the pulumi CLI is not on PATH"
    assert rows(section, OK)["image pgbackup"].startswith(f"leadgen-production/pgbackup:{PGBACKUP}: no findings")


def test_an_export_that_is_not_json_state_is_not_assessed_naming_it():
    section = assess(clean(Recorded()).replace("pulumi", "stack-export", {"version": 3, "deployment": None}))
    assert section.status == NOT_ASSESSED
    assert section.reason.startswith("guardrails: pulumi stack export answered in an unexpected shape: the export of production")


@pytest.mark.parametrize("status,description,shown", [
    ("IN_PROGRESS", "", f"leadgen-production/api:{API}: scan IN_PROGRESS"),
    ("FAILED", "UnsupportedImageError: The operating system and/or package manager are not supported.",
     f"leadgen-production/api:{API}: scan FAILED (UnsupportedImageError: The operating system and/or package manager are not supported.)"),
])
def test_a_scan_that_has_not_completed_is_not_assessed_for_that_image(status, description, shown):
    doc = answer("ecr", "DescribeImageScanFindings.api")
    doc["imageScanStatus"] = {"status": status, "description": description}
    doc.pop("imageScanFindings")
    section = assess(clean(Recorded()).replace("ecr", "DescribeImageScanFindings.api", doc))
    assert section.status == NOT_ASSESSED
    assert rows(section, NOT_ASSESSED)["image api"] == f"not assessed: {shown}"
    assert section.reason == f"images: {shown}"


def test_an_unreachable_or_malformed_scan_is_not_assessed_naming_the_repository():
    section = assess(clean(Recorded()).down("ecr", "DescribeImageScanFindings.backend",
                                            reason="ImageNotFoundException: The image requested does not exist"))
    assert section.status == NOT_ASSESSED
    assert rows(section, NOT_ASSESSED)["image backend"] == (
        f"not assessed: ECR (DescribeImageScanFindings leadgen-production/backend:{BACKEND}) unreachable: ecr "
        "DescribeImageScanFindings: ImageNotFoundException: The image requested does not exist")
    doc = answer("ecr", "DescribeImageScanFindings.api")
    doc["imageScanFindings"]["findingSeverityCounts"] = {"SEVERE": 1}
    section = assess(clean(Recorded()).replace("ecr", "DescribeImageScanFindings.api", doc))
    assert section.status == NOT_ASSESSED
    assert "unknown severity 'SEVERE'" in rows(section, NOT_ASSESSED)["image api"]


def test_a_basic_scan_older_than_a_month_needs_a_rescan():
    doc = answer("ecr", "DescribeImageScanFindings.pgbackup")
    doc["imageScanFindings"]["imageScanCompletedAt"] = "2026-09-01T00:00:00+00:00"
    section = assess(clean(Recorded()).replace("ecr", "DescribeImageScanFindings.pgbackup", doc))
    assert section.status == ATTENTION
    assert "the scan is 90 days old: rescan with aws ecr start-image-scan" in rows(section, ATTENTION)["image pgbackup"]


def test_an_image_outside_ecr_cannot_be_judged_here():
    config = stack_config(**{"leadgen:workloads.backend.image": "ghcr.io/insurance-lead-gen/backend"})
    section = assess(clean(Recorded()), config=config)
    assert section.status == NOT_ASSESSED
    assert rows(section, NOT_ASSESSED)["image backend"] == (
        f"not assessed: ghcr.io/insurance-lead-gen/backend:{BACKEND} is not in ECR; scan it where it is kept")


def test_the_canary_and_another_accounts_ecr_image_are_scanned_where_they_are():
    config = stack_config(**{"leadgen:canary.tag": "2.15.0", "leadgen:canary.weight": "10",
                             "leadgen:workloads.backend.image": "210987654321.dkr.ecr.us-east-1.amazonaws.com/shared/backend"})
    images = security.running_images(config)
    assert [(i.label, i.ecr_name, i.registry_id, i.tag) for i in images] == [
        ("api", "leadgen-production/api", None, API), ("api-canary", "leadgen-production/api", None, "2.15.0"),
        ("backend", "shared/backend", "210987654321", BACKEND), ("pgbackup", "leadgen-production/pgbackup", None, PGBACKUP)]


def test_an_automatic_rotation_that_did_not_happen_needs_action():
    page = answer("secretsmanager", "ListSecrets.page1")
    rds = page["SecretList"][0]
    rds.update(LastRotatedDate="2026-11-10T03:12:44+00:00", NextRotationDate="2026-11-17T23:59:59+00:00")
    section = assess(clean(Recorded()).replace("secretsmanager", "ListSecrets.page1", page))
    assert section.status == ACTION_NEEDED
    assert rows(section, ACTION_NEEDED)["secret rds!db-fe3b7125-4ed2-4981-60d8-5e6aafd5eafa"] == (
        "rotated 20 day(s) ago (2026-11-10), managed by rds, rotates automatically every 7 days; its rotation was "
        "due 2026-11-17 and has not happened: check the rotation function's logs")


@pytest.mark.parametrize("change,field", [
    (lambda e: e.update(LastChangedDate="last tuesday"), "ListSecrets secret 'insurance-lead-gen/production/grafana-admin'."
                                                          "LastChangedDate ('last tuesday') is not a time"),
    (lambda e: [e.pop(k) for k in ("LastChangedDate", "CreatedDate")],
     "ListSecrets secret 'insurance-lead-gen/production/grafana-admin' has no LastRotatedDate, LastChangedDate or CreatedDate"),
    (lambda e: e.pop("Name"), "ListSecrets.SecretList[1].Name is missing"),
])
def test_a_secret_listing_in_another_shape_is_not_assessed(change, field):
    page = answer("secretsmanager", "ListSecrets.page1")
    change(page["SecretList"][1])
    section = assess(clean(Recorded()).replace("secretsmanager", "ListSecrets.page1", page))
    assert section.status == NOT_ASSESSED
    assert section.reason == f"secrets: Secrets Manager (ListSecrets) answered in an unexpected shape: {field}"


def test_secrets_manager_unreachable_is_not_assessed():
    section = assess(clean(Recorded()).down("secretsmanager", reason="timed out after 10 s"))
    assert section.status == NOT_ASSESSED
    assert section.reason == "secrets: Secrets Manager (ListSecrets) unreachable: secretsmanager: timed out after 10 s"


def test_wire_timestamps_read_as_epoch_seconds_too():
    page = answer("secretsmanager", "ListSecrets.page1")
    page["SecretList"][1]["LastChangedDate"] = 1.7781e9  # 2026-05-06, as the JSON protocol carries it
    section = assess(clean(Recorded()).replace("secretsmanager", "ListSecrets.page1", page))
    assert rows(section, ACTION_NEEDED)["secret insurance-lead-gen/production/grafana-admin"].startswith(
        "changed 207 day(s) ago (2026-05-06)")


def test_a_stack_file_the_pack_cannot_read_leaves_the_guardrails_not_assessed(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: leadgen\nruntime: python\n")
    (tmp_path / "Pulumi.production.yaml").write_text("config:\n  leadgen:environment: production\nconfig:\n  x: 1\n")
    section = assess(clean(Recorded()), project_root=tmp_path)
    assert section.status == NOT_ASSESSED
    assert section.reason.startswith("guardrails: the stack's config cannot be read: ")
    assert "Pulumi.production.yaml" in section.reason


def test_secrets_of_another_environment_in_the_account_are_left_out():
    page = answer("secretsmanager", "ListSecrets.page1")
    dev = dict(page["SecretList"][1], Name="insurance-lead-gen/dev/grafana-admin", LastChangedDate="2025-01-01T00:00:00+00:00",
               Tags=[{"Key": "environment", "Value": "dev"}])
    page["SecretList"].append(dev)
    page["SecretList"][1]["LastChangedDate"] = "2026-10-30T08:00:00+00:00"
    section = assess(clean(Recorded()).replace("secretsmanager", "ListSecrets.page1", page))
    assert section.status == OK
    assert section.figure.endswith("secrets: 6 secret(s), 0 older than the 90-day rotation policy or overdue for their "
                                   "rotation (1 tagged with another environment left out)")
