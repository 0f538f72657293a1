"""Security: the pack's guardrails on the current state, ECR scan findings of the images the stack
runs, and secrets older than the rotation policy.

- **Guardrails**: the stack's state (`("pulumi", "stack-export")`, as the cost section reads it) judged
  exactly as `platformctl audit --state` judges an export (platformctl/state_audit.py: the pack's
  catalog, gates left out, exemptions applied). A mandatory finding is "action needed", an
  advisory one "attention"; a state the policies mostly cannot judge is "not assessed". The budget
  policies are the cost section's and are left out here.
- **Images**: ECR `DescribeImageScanFindings` for every image the stack runs, as its config
  declares them (each workload's repository and tag, the canary's tag, the backup tool's): a
  critical or high finding is "action needed", a medium one "attention"; a scan that has not
  completed is "not assessed" for that image.
- **Secrets**: Secrets Manager `ListSecrets` in the stack's account and region, less those tagged
  with another environment: a secret whose automatic rotation is overdue, or whose value has not
  been rotated for longer than the rotation policy (MAX_SECRET_AGE_DAYS), is "action needed".
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any, Iterable, Optional

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, NOT_ASSESSED, OK, Context, Finding, Section
from platformctl.weekly.sections import _readers as r

KEY = "security"
TITLE = "Security"

# The rotation policy: a secret's value is rotated at least every 90 days. The figure AWS Config's
# managed rule `secretsmanager-secret-periodic-rotation` checks by default (maxDaysSinceRotation),
# https://docs.aws.amazon.com/config/latest/developerguide/secretsmanager-secret-periodic-rotation.html
# (read 2026-12-03). Secrets with automatic rotation are held to their own schedule as well.
MAX_SECRET_AGE_DAYS = 90
# A rotation that has not happened a day after it was due has failed.
ROTATION_GRACE = dt.timedelta(days=1)
# Basic ECR scanning scans once, on push: findings older than this miss the advisories since.
STALE_SCAN_DAYS = 30
# ECR severities (botocore ecr FindingSeverity) and what each makes of an image.
SEVERITY_STATUS = {"CRITICAL": ACTION_NEEDED, "HIGH": ACTION_NEEDED, "MEDIUM": ATTENTION, "LOW": OK,
                   "INFORMATIONAL": OK, "UNDEFINED": OK}
SCANNED = ("COMPLETE", "ACTIVE")  # ACTIVE: enhanced (continuous) scanning with findings current
# Findings left to the cost section, which reads the same audit.
COST_POLICIES = ("cost-budget-gate", "cost-budget-warning")
MAX_ROWS = 20  # per part; the rest are counted
_ECR_URL = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<name>.+)$")


def assess(ctx: Context) -> Section:
    from platformctl.project import ROOT

    root = ctx.project_root or ROOT
    parts = [
        r.judge("guardrails", "pulumi stack export", lambda: guardrails(ctx, root)),
        images(ctx),
        r.judge("secrets", "Secrets Manager (ListSecrets)", lambda: secrets(ctx)),
    ]
    return r.section(key=KEY, title=TITLE, parts=parts,
                     action=f"python -m platformctl audit --state <export of {ctx.stack}>; ECR: aws ecr "
                            "describe-image-scan-findings --repository-name <repo> --image-id imageTag=<tag>; "
                            "rotate: aws secretsmanager rotate-secret --secret-id <name> "
                            "(or put-secret-value for a secret rotated by hand)")


# --- guardrails -----------------------------------------------------------------------------------

def guardrails(ctx: Context, root) -> r.Part:
    from platformctl.reports import NOT_ASSESSED_POLICY

    judged = r.judged_export(ctx, root, "guardrails")
    if isinstance(judged, r.Part):
        return judged
    report = judged.report
    unjudged = [v for v in report.violations if v.policy == NOT_ASSESSED_POLICY]
    if unjudged:
        return r.unassessed("guardrails", r.one_line(unjudged[0].message))
    found = [v for v in report.violations if v.policy not in COST_POLICIES]
    mandatory = [v for v in found if v.level == "mandatory"]
    status = ACTION_NEEDED if mandatory else ATTENTION if found else OK
    figure = (f"{len(mandatory)} mandatory, {len(found) - len(mandatory)} advisory finding(s) over "
              f"{report.resource_count} resources" + (f", {len(report.exempted)} exempted" if report.exempted else ""))
    order = sorted(found, key=lambda v: (v.level != "mandatory", v.policy, v.urn))
    rows = [Finding(name=v.policy, figure=r.one_line(f"{v.level}, {v.severity}: {v.urn.rsplit('::', 1)[-1]}: {v.message}"),
                    status=ACTION_NEEDED if v.level == "mandatory" else ATTENTION) for v in order[:MAX_ROWS]]
    if len(order) > MAX_ROWS:
        rows.append(Finding(name="guardrails", figure=f"and {len(order) - MAX_ROWS} more", status=ATTENTION))
    if not rows:
        rows = [Finding(name="guardrails", figure=figure, status=OK)]
    return r.Part(name="guardrails", status=status, figure=figure, rows=tuple(rows))


# --- images -----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Image:
    label: str            # what runs it: `api`, `api-canary`, `pgbackup`
    repository: str       # the repository reference as declared
    tag: str
    ecr_name: Optional[str]   # the ECR repository name, None when the image is not in ECR
    registry_id: Optional[str] = None  # None: the account the client runs as (the stack's own)

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


def running_images(config: Any) -> list[Image]:
    """Every image the stack's config makes it run: each workload's (its own ECR repository
    `<prefix>/<name>` unless `image` names another), the canary's tag of the routed workload, and
    the backup tool's."""
    from domains.images import BACKUP_IMAGE
    from leadgen import workloads as derived
    from leadgen.config.traffic import ROUTED_WORKLOAD

    def image(label: str, declared: str, own: Optional[str], tag: str) -> Image:
        if not declared:
            name = f"{config.prefix}/{own}"
            return Image(label=label, repository=name, tag=tag, ecr_name=name)
        match = _ECR_URL.match(declared)
        if match:
            return Image(label=label, repository=declared, tag=tag, ecr_name=match["name"],
                         registry_id=match["account"])
        return Image(label=label, repository=declared, tag=tag, ecr_name=None)

    out = []
    for w in config.workloads:
        out.append(image(w.name, w.image, derived.image_repository(w), w.tag))
        canary = getattr(getattr(config, "traffic", None), "canary", None)
        if w.name == ROUTED_WORKLOAD and canary is not None and canary.tag:
            out.append(image(f"{w.name}-canary", w.image, derived.image_repository(w), canary.tag))
    backup = getattr(getattr(config, "data", None), "backup", None)
    if backup is not None:
        out.append(image(BACKUP_IMAGE, backup.image, BACKUP_IMAGE, backup.tag))
    return out


def images(ctx: Context) -> r.Part:
    rows = []
    for image in running_images(ctx.config):
        if image.ecr_name is None:
            rows.append(Finding(name=f"image {image.label}", status=NOT_ASSESSED,
                                figure=f"not assessed: {image.reference} is not in ECR; scan it where it is kept"))
            continue
        part = r.judge(f"image {image.label}", f"ECR (DescribeImageScanFindings {image.ecr_name}:{image.tag})",
                       lambda image=image: _scan(ctx, image))
        rows.extend(part.rows)
    status = r.worst(row.status for row in rows)
    figure = (f"{len(rows)} image(s): " + ", ".join(f"{row.name.removeprefix('image ')} {row.status}" for row in rows)
              if rows else "the stack runs no image")
    reason = "; ".join(row.figure.removeprefix("not assessed: ") for row in rows if row.status == NOT_ASSESSED)
    return r.Part(name="images", status=status, figure=figure, rows=tuple(rows), reason=reason)


def _scan(ctx: Context, image: Image) -> r.Part:
    # A tag pinned by digest (`2.14.0@sha256:...`) runs the digest: that is the image to ask about.
    tag, _, digest = image.tag.partition("@")
    params: dict[str, Any] = {"repositoryName": image.ecr_name,
                              "imageId": {"imageDigest": digest} if digest else {"imageTag": tag}, "maxResults": 1}
    if image.registry_id:
        params["registryId"] = image.registry_id
    answer = r.fetch(ctx, "ecr", "DescribeImageScanFindings", params)
    name = f"image {image.label}"
    where = "DescribeImageScanFindings"
    scan = r.field(answer, "imageScanStatus", dict, where)
    state = r.field(scan, "status", str, f"{where}.imageScanStatus")
    if state not in SCANNED:
        why = r.field(scan, "description", str, f"{where}.imageScanStatus", optional=True) or ""
        return r.unassessed(name, f"{image.reference}: scan {state}" + (f" ({r.one_line(why, 120)})" if why else ""))
    findings = r.field(answer, "imageScanFindings", dict, where)
    counts = r.field(findings, "findingSeverityCounts", dict, f"{where}.imageScanFindings", optional=True) or {}
    for severity, n in counts.items():
        if severity not in SEVERITY_STATUS:
            raise r.Malformed(f"{where}.imageScanFindings.findingSeverityCounts: unknown severity {severity!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise r.Malformed(f"{where}.imageScanFindings.findingSeverityCounts.{severity} is not a count")
    status = r.worst([SEVERITY_STATUS[s] for s, n in counts.items() if n] or [OK])
    shown = ", ".join(f"{counts[s]} {s.lower()}" for s in SEVERITY_STATUS if counts.get(s)) or "no findings"
    completed = r.field(findings, "imageScanCompletedAt", (int, float, str), f"{where}.imageScanFindings", optional=True)
    figure = f"{image.reference}: {shown}"
    if completed is not None:
        at = r.timestamp(completed, f"{where}.imageScanFindings.imageScanCompletedAt")
        figure += f" (scanned {at:%Y-%m-%d})"
        if state == "COMPLETE" and ctx.now - at > dt.timedelta(days=STALE_SCAN_DAYS):
            figure += (f"; the scan is {(ctx.now - at).days} days old: rescan with aws ecr start-image-scan, "
                       "or turn on enhanced scanning")
            status = r.worst([status, ATTENTION])
    return r.Part(name=name, status=status, figure=figure, rows=(Finding(name=name, figure=figure, status=status),))


# --- secrets ----------------------------------------------------------------------------------------

def secrets(ctx: Context) -> r.Part:
    environment = ctx.config.core.environment
    entries, others = [], 0
    for i, entry in enumerate(_list_secrets(ctx)):
        # Stacks of other environments may share the account and region: their secrets are theirs
        # (every secret the program declares carries the `environment` tag; RDS's own carry none).
        tag = _environment_tag(entry, i)
        if tag is not None and tag != environment:
            others += 1
            continue
        entries.append((i, entry))
    rows = [_judge_secret(entry, i, ctx.now) for i, entry in entries]
    late = [row for row in rows if row.status != OK]
    status = r.worst([row.status for row in rows] or [OK])
    figure = (f"{len(rows)} secret(s), {len(late)} older than the {MAX_SECRET_AGE_DAYS}-day rotation policy "
              "or overdue for their rotation")
    if others:
        figure += f" ({others} tagged with another environment left out)"
    shown = sorted(rows, key=lambda row: (row.status == OK, row.name))
    if late:
        shown = [row for row in shown if row.status != OK]
    kept = shown[:MAX_ROWS]
    if len(shown) > MAX_ROWS:
        kept.append(Finding(name="secrets", figure=f"and {len(shown) - MAX_ROWS} more", status=status))
    return r.Part(name="secrets", status=status, figure=figure,
                  rows=tuple(kept) or (Finding(name="secrets", figure=figure, status=status),))


def _list_secrets(ctx: Context) -> Iterable[Any]:
    token, pages = None, 0
    while True:
        params: dict[str, Any] = {"MaxResults": 100}
        if token:
            params["NextToken"] = token
        page = r.fetch(ctx, "secretsmanager", "ListSecrets", params)
        yield from r.field(page, "SecretList", list, "ListSecrets")
        token = r.field(page, "NextToken", str, "ListSecrets", optional=True)
        pages += 1
        if not token:
            return
        if pages >= 100:
            raise r.Malformed("ListSecrets: more than 100 pages")


def _environment_tag(entry: Any, index: int) -> Optional[str]:
    tags = r.field(entry, "Tags", list, f"ListSecrets.SecretList[{index}]", optional=True) or []
    for j, tag in enumerate(tags):
        if r.field(tag, "Key", str, f"ListSecrets.SecretList[{index}].Tags[{j}]") == "environment":
            return r.field(tag, "Value", str, f"ListSecrets.SecretList[{index}].Tags[{j}]")
    return None


def _judge_secret(entry: Any, index: int, now: dt.datetime) -> Finding:
    where = f"ListSecrets.SecretList[{index}]"
    name = r.field(entry, "Name", str, where)
    where = f"ListSecrets secret {name!r}"
    dates = {}
    for key in ("LastRotatedDate", "LastChangedDate", "CreatedDate", "NextRotationDate"):
        value = r.field(entry, key, (int, float, str), where, optional=True)
        if value is not None:
            dates[key] = r.timestamp(value, f"{where}.{key}")
    since_key = next((k for k in ("LastRotatedDate", "LastChangedDate", "CreatedDate") if k in dates), None)
    if since_key is None:
        raise r.Malformed(f"{where} has no LastRotatedDate, LastChangedDate or CreatedDate")
    age = now - dates[since_key]
    shown = {"LastRotatedDate": "rotated", "LastChangedDate": "changed", "CreatedDate": "created"}[since_key]
    enabled = r.field(entry, "RotationEnabled", bool, where, optional=True)
    rules = r.field(entry, "RotationRules", dict, where, optional=True) or {}
    every = r.field(rules, "AutomaticallyAfterDays", int, f"{where}.RotationRules", optional=True)
    owner = r.field(entry, "OwningService", str, where, optional=True)
    managed = f", managed by {owner}" if owner else ""
    figure = f"{shown} {age.days} day(s) ago ({dates[since_key]:%Y-%m-%d}){managed}"
    if enabled:
        due = dates.get("NextRotationDate")
        if due is None and every and "LastRotatedDate" in dates:
            due = dates["LastRotatedDate"] + dt.timedelta(days=every)
        figure += ", rotates automatically" + (f" every {every} days" if every else "")
        if due is not None and now > due + ROTATION_GRACE:
            return Finding(name=f"secret {name}", status=ACTION_NEEDED,
                           figure=f"{figure}; its rotation was due {due:%Y-%m-%d} and has not happened: "
                                  "check the rotation function's logs")
    else:
        figure += ", no automatic rotation"
    if age > dt.timedelta(days=MAX_SECRET_AGE_DAYS):
        return Finding(name=f"secret {name}", status=ACTION_NEEDED,
                       figure=f"{figure}; older than the {MAX_SECRET_AGE_DAYS}-day rotation policy")
    return Finding(name=f"secret {name}", figure=figure, status=OK)
