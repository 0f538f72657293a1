"""The machine formats: JSON, CSV (spreadsheets), SARIF 2.1.0 (code scanning), JUnit (CI views).

JSON keeps values as they are (its own escaping covers control characters) but redacted; CSV
cells can never be formulas; SARIF strings are shown like terminal text, since code scanning
prints them; JUnit is well-formed XML 1.0 whatever a name holds."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import xml.etree.ElementTree as ET

from platformctl.reports.escape import for_report
from platformctl.reports.model import Report, severity_of, sorted_violations

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/leadgen/platform"  # shown by code scanning as the tool's home


def _violation(v) -> dict:
    return {"policy": v.policy, "level": v.level, "urn": v.urn, "message": v.message}


def as_dict(report: Report) -> dict:
    """The report as JSON-ready data, every string redacted."""
    return for_report(report).deep(_as_dict(report), for_report(report).redact)


def _as_dict(report: Report) -> dict:
    cost = report.cost
    return {
        "kind": report.kind,
        "stack": report.stack,
        "project": report.project,
        "generated_at": report.generated_at.isoformat(),
        "source": report.source,
        "period": [d.isoformat() for d in report.period] if report.period else None,
        "resource_count": report.resource_count,
        "summary": {"mandatory": report.mandatory, "advisory": report.advisory,
                    "exempted": len(report.exempted), "exit_code": report.exit_code()},
        "notes": list(report.notes),
        "violations": [_violation(v) for v in sorted_violations(report.violations)],
        "exempted": [dict(_violation(v), ticket=e.ticket) for v, e in report.exempted],
        "exemptions": [e.as_dict() for e in report.exemptions],
        "cost": None if cost is None else {
            "monthly_usd": round(cost.total_usd, 2),
            "baseline_usd": None if cost.baseline_usd is None else round(cost.baseline_usd, 2),
            "delta_usd": None if cost.delta_usd is None else round(cost.delta_usd, 2),
            "delta_percent": (None if cost.delta_percent in (None, float("inf"))
                              else round(cost.delta_percent, 2)),
            "by_component": [{"component": c, "monthly_usd": round(v, 2)} for c, v in cost.by_component()],
            "resources": [{"component": i.component, "urn": i.urn, "type": i.type,
                           "monthly_usd": round(i.monthly_usd, 2), "note": i.note} for i in cost.items],
        },
        "changes": [{
            "version": c.version, "kind": c.kind, "start": c.start.isoformat(),
            "end": c.end.isoformat() if c.end else None, "result": c.result,
            "change_request": c.change_request or None, "requester": c.requester, "approver": c.approver,
            "independently_approved": c.independently_approved, "rollback_plan": c.rollback_plan,
            "in_window": c.in_window, "compliant": c.compliant, "problems": list(c.problems),
        } for c in report.changes],
    }


def to_json(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2) + "\n"


CSV_COLUMNS = ("status", "policy", "level", "severity", "urn", "message", "exemption_ticket",
               "exemption_expires", "stack", "generated_at")


def to_csv(report: Report) -> str:
    """One row per finding; exempted violations are rows too, marked, so auditors see both."""
    cell = for_report(report).csv
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    stamp = report.generated_at.isoformat()
    for v in sorted_violations(report.violations):
        writer.writerow(["open"] + [cell(x) for x in (v.policy, v.level, severity_of(v), v.urn, v.message)]
                        + ["", "", cell(report.stack), stamp])
    for v, e in report.exempted:
        writer.writerow(["exempted"] + [cell(x) for x in (v.policy, v.level, severity_of(v), v.urn, v.message, e.ticket)]
                        + [e.expires.isoformat(), cell(report.stack), stamp])
    return buffer.getvalue()


_SARIF_LEVEL = {"mandatory": "error", "advisory": "warning"}
# GitHub code scanning sorts by `security-severity` (a CVSS-like 0-10 string).
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def sarif(report: Report) -> str:
    # Code scanning needs a file to hang a result on; the stack's config file is what a reviewer
    # changes to fix a finding, and the URN goes into the logical location.
    esc = for_report(report)
    artifact = f"Pulumi.{esc.uri_part(report.stack)}.yaml"
    everything = [(v, None) for v in sorted_violations(report.violations)] + list(report.exempted)
    rules: dict[str, dict] = {}
    results = []
    seen: dict[str, int] = {}
    for v, exemption in everything:
        severity = severity_of(v)
        if v.policy not in rules:
            described = _describe(v.policy)
            rules[v.policy] = {
                "id": v.policy, "name": v.policy,
                "shortDescription": {"text": v.policy},
                # Code scanning shows these on every alert; a rule without them is rejected by GitHub.
                "fullDescription": {"text": described},
                "help": {"text": f"{described} Fix the resource or its configuration so it complies; a reviewed "
                                 "exception goes in policies/exemptions.yaml with a ticket and an expiry date.",
                         "markdown": f"**{v.policy}**: {described}\n\nFix the resource or its configuration so it "
                                     "complies; a reviewed exception goes in `policies/exemptions.yaml` with a "
                                     "ticket and an expiry date."},
                "defaultConfiguration": {"level": _SARIF_LEVEL.get(v.level, "warning")},
                "properties": {"tags": ["leadgen-governance", v.level],
                               "security-severity": _SECURITY_SEVERITY.get(severity, "5.5")},
            }
        result = {
            "ruleId": v.policy,
            "ruleIndex": list(rules).index(v.policy),
            "level": _SARIF_LEVEL.get(v.level, "warning"),
            "message": {"text": f"{v.message} ({v.urn or 'stack'})"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": artifact}, "region": {"startLine": 1}},
                "logicalLocations": [{"fullyQualifiedName": v.urn or report.stack, "kind": "resource"}],
            }],
            # A stable identity so code scanning tracks one alert across runs: one per distinct finding
            # (several findings on one resource, or updates in one history, are each their own alert).
            "partialFingerprints": {"platformctlFinding/v2": _fingerprint(report.stack, v, seen)},
        }
        if exemption is not None:
            result["suppressions"] = [{"kind": "external", "status": "accepted",
                                       "justification": f"{exemption.ticket}: {exemption.reason} "
                                                        f"(until {exemption.expires.isoformat()})"}]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "platformctl", "informationUri": INFORMATION_URI,
                                "semanticVersion": "1.0.0", "rules": list(rules.values())}},
            "automationDetails": {"id": f"platformctl/{report.kind}/{report.stack}/"},
            "invocations": [{"executionSuccessful": True,
                             "endTimeUtc": report.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ")}],
            "results": results,
        }],
    }
    # Every string shown as terminal text: code scanning prints messages and names as they are.
    # The schema URI, artifact and fingerprints are ours and stay unchanged by it.
    return json.dumps(esc.deep(document), indent=2) + "\n"


def _fingerprint(stack: str, v, seen: dict[str, int]) -> str:
    digest = hashlib.sha256(f"{stack}|{v.policy}|{v.urn}|{v.message}".encode("utf-8", "surrogatepass")).hexdigest()
    count = seen.get(digest, 0)
    seen[digest] = count + 1
    # The same finding twice in one report (identical text) still gets two identities, in order.
    return digest if count == 0 else hashlib.sha256(f"{digest}|{count}".encode()).hexdigest()


def _describe(policy: str) -> str:
    """The policy's description from the pack's catalog; platformctl's own findings say theirs here."""
    own = {"governance-change-evidence": "Every update of the audited period ran under a complete change request, "
                                         "approved and signed before it started, inside its window.",
           "audit-pending-operation": "State holds no interrupted operation (a resource that may exist unmanaged).",
           "audit-not-assessed": "Policies cover more than half of the stack's resources, so the audit can "
                                 "vouch for it; otherwise it is not assessed.",
           "governance-exemption-expired": "An exemption past its expiry date no longer covers its violation."}
    if policy in own:
        return own[policy]
    try:
        from platformctl.pack import catalog
        spec = catalog.BY_NAME.get(policy)
    except Exception:  # noqa: BLE001 - a report is still written without the pack's wording
        spec = None
    return spec.description if spec is not None else f"The {policy} policy of the leadgen-governance pack."


def junit(report: Report) -> str:
    """Suites per policy; a mandatory violation or non-compliant change is a failed test case.

    Advisory findings are passing cases with the message in system-out: a CI view should turn
    red only for what blocks `pulumi up`.
    """
    x = for_report(report).xml
    root = ET.Element("testsuites", name=x(f"platformctl {report.kind} {report.stack}"))
    suites: dict[str, ET.Element] = {}

    def suite(name: str) -> ET.Element:
        if name not in suites:
            suites[name] = ET.SubElement(root, "testsuite", name=x(name))
        return suites[name]

    overall = suite("policy-pack")
    case = ET.SubElement(overall, "testcase", classname="policy-pack", name=x(f"{report.stack}: no mandatory violations"))
    if report.mandatory:
        ET.SubElement(case, "failure", type="mandatory",
                      message=f"{report.mandatory} mandatory violation(s)").text = "see the other suites"
    for v in sorted_violations(report.violations):
        case = ET.SubElement(suite(v.policy), "testcase", classname=x(v.policy), name=x(v.urn or report.stack))
        if v.level == "mandatory":
            ET.SubElement(case, "failure", type=x(v.level), message=x(v.message)).text = x(v.message)
        else:
            ET.SubElement(case, "system-out").text = x(f"{v.level}: {v.message}")
    for c in report.changes:
        case = ET.SubElement(suite("change-management"), "testcase", classname="change-management",
                             name=x(f"update {c.version or ''} {c.start.isoformat()} "
                                    f"{c.change_request or '(no change request)'}"))
        if not c.compliant:
            problems = x("; ".join(c.problems))
            ET.SubElement(case, "failure", type="change-evidence", message=problems).text = problems
    for element in root:
        cases = element.findall("testcase")
        element.set("tests", str(len(cases)))
        element.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        element.set("errors", "0")
        element.set("skipped", "0")
    root.set("tests", str(sum(int(s.get("tests")) for s in root)))
    root.set("failures", str(sum(int(s.get("failures")) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
