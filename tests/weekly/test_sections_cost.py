"""The weekly report's cost section from recorded answers: the estimate of the stack's state against
its budget (the pack's own estimator and budget policies), the week's Cost Explorer spend, and the
savings the model can name; a source that is down or answers in another shape is "not assessed"."""
from __future__ import annotations

import pytest

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, NOT_ASSESSED, OK
from platformctl.weekly.sections import cost
from sourcekit import Recorded, answer, context, rows

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def export_with(change) -> dict:
    doc = answer("pulumi", "stack-export")
    for res in doc["deployment"]["resources"]:
        change(res)
    return doc


def group(name: str, **props):
    def change(res):
        if res["type"] == NODE_GROUP and res["urn"].endswith(f"-{name}-ng"):
            for key in ("inputs", "outputs"):
                for path, value in props.items():
                    if path == "desiredSize":
                        res[key]["scalingConfig"]["desiredSize"] = value
                    else:
                        res[key][path] = value
    return change


def ce_scaled(factor: float):
    def scaled(params):
        page = answer("ce", "GetCostAndUsage.page2" if params.get("NextPageToken") else "GetCostAndUsage.page1")
        for result in page["ResultsByTime"]:
            for g in result["Groups"]:
                value = g["Metrics"]["UnblendedCost"]
                value["Amount"] = str(float(value["Amount"]) * factor)
        return page
    return scaled


def assess(fetch):
    return cost.assess(context(fetch))


def test_recorded_week_gives_the_estimate_the_spend_and_three_candidates():
    fetch = Recorded()
    section = assess(fetch)
    assert (section.key, section.title) == ("cost", "Cost")
    found = rows(section)
    # The pack's estimate of production's state (`platformctl cost` prints the same total) against
    # the 25,000 USD budget governance/gates.yaml gives production.
    assert found["estimate"] == "1,491.57 USD/month, 6.0 % of the 25,000.00 USD budget"
    assert found["actual spend"] == (
        "400.12 USD over 7 day(s) from 2026-11-23 (UnblendedCost, environment=production, us-east-1), about "
        "1,738.61 USD/month; 1 day(s) still estimated by AWS; the estimate for those days is 343.27 USD")
    assert found["spend: Amazon Elastic Compute Cloud - Compute"] == "132.91 USD"
    assert sorted(n for n in found if n.startswith(("idle", "on-demand", "oversized"))) == [
        "idle capacity: leadgen-production-spot-ng", "on-demand where spot fits: leadgen-production-general-ng",
        "oversized class: leadgen-production-general-ng"]
    assert "2 x m6i.large (spot) at 56.94 USD/month" in found["idle capacity: leadgen-production-spot-ng"]
    assert "m6i.large would save 210.24 USD/month" in found["oversized class: leadgen-production-general-ng"]
    assert "41.61 USD/month less" in found["on-demand where spot fits: leadgen-production-general-ng"]
    assert section.status == ATTENTION and section.reason == ""
    assert "candidates: 3, up to 308.79 USD/month" in section.figure
    assert "python -m platformctl cost --stack production" in section.action
    # Cost Explorer was asked for the stack's own costs of the week, by service, page after page.
    ce = [params for service, _, params in fetch.calls if service == "ce"]
    assert ce[0]["TimePeriod"] == {"Start": "2026-11-23", "End": "2026-11-30"}
    assert ce[0]["Filter"] == {"And": [{"Tags": {"Key": "environment", "Values": ["production"]}},
                                       {"Dimensions": {"Key": "REGION", "Values": ["us-east-1"]}}]}
    assert ce[0]["GroupBy"] == [{"Type": "DIMENSION", "Key": "SERVICE"}]
    assert [p.get("NextPageToken") for p in ce] == [None, "AAMA-EXAMPLE-TOKEN-2"]


@pytest.mark.parametrize("desired,status,policy", [(200, ACTION_NEEDED, "cost-budget-gate"),
                                                   (150, ATTENTION, "cost-budget-warning")])
def test_an_estimate_over_or_near_the_budget_is_judged_by_the_packs_budget_policies(desired, status, policy):
    fetch = Recorded().replace("pulumi", "stack-export", export_with(group("general", desiredSize=desired)))
    section = assess(fetch)
    found = rows(section)
    assert section.status == status
    assert [r.status for r in section.rows if r.name == "estimate"] == [status]
    # production's budget is the CAB's (gates.yaml): the line names that key, not one its stack file may not set.
    assert "USD/month" in found[policy] and "governance/gates.yaml stacks.production.monthly_budget_usd" in found[policy]


def test_spend_far_above_the_estimate_needs_attention_and_above_the_budget_action():
    section = assess(Recorded().replace("ce", "GetCostAndUsage.page1", ce_scaled(2))
                     .replace("ce", "GetCostAndUsage.page2", ce_scaled(2)))
    spend = [r for r in section.rows if r.name == "actual spend"][0]
    assert spend.status == ATTENTION
    assert "(133 % more is spent than the model prices)" in spend.figure
    section = assess(Recorded().replace("ce", "GetCostAndUsage.page1", ce_scaled(100))
                     .replace("ce", "GetCostAndUsage.page2", ce_scaled(100)))
    spend = [r for r in section.rows if r.name == "actual spend"][0]
    assert spend.status == ACTION_NEEDED and "above the 25,000.00 USD budget" in spend.figure
    assert section.status == ACTION_NEEDED


def test_without_cost_explorer_the_spend_is_not_assessed_never_a_pass():
    section = assess(Recorded().down("ce", reason="AccessDeniedException: not authorized to perform ce:GetCostAndUsage"))
    assert section.status == NOT_ASSESSED
    assert section.reason == ("actual spend: Cost Explorer (ce GetCostAndUsage) unreachable: ce: "
                              "AccessDeniedException: not authorized to perform ce:GetCostAndUsage")
    # What could be read is still shown.
    assert rows(section, OK)["estimate"].startswith("1,491.57 USD/month")


@pytest.mark.parametrize("break_it,field", [
    (lambda p: p.pop("ResultsByTime"), "GetCostAndUsage page 1.ResultsByTime is missing"),
    (lambda p: p["ResultsByTime"][0]["Groups"][0]["Metrics"]["UnblendedCost"].update(Unit="EUR"),
     "ResultsByTime[0].Groups[0].Metrics.UnblendedCost.Unit is 'EUR', expected USD"),
    (lambda p: p["ResultsByTime"][1]["Groups"][2]["Metrics"]["UnblendedCost"].update(Amount="12,40"),
     "ResultsByTime[1].Groups[2].Metrics.UnblendedCost.Amount ('12,40') is not a number"),
    (lambda p: p["ResultsByTime"][0].update(TimePeriod="2026-11-23"), "ResultsByTime[0].TimePeriod is a string, expected an object"),
])
def test_a_cost_explorer_answer_in_another_shape_is_not_assessed_naming_the_field(break_it, field):
    page = answer("ce", "GetCostAndUsage.page1")
    break_it(page)
    section = assess(Recorded().replace("ce", "GetCostAndUsage.page1", page))
    assert section.status == NOT_ASSESSED
    assert section.reason == f"actual spend: Cost Explorer (ce GetCostAndUsage) answered in an unexpected shape: {field}"


def test_an_ungrouped_answer_is_read_from_its_totals():
    spend = cost.read_cost_and_usage([{"ResultsByTime": [
        {"TimePeriod": {"Start": "2026-11-23", "End": "2026-11-24"}, "Total": {"UnblendedCost": {"Amount": "10.5", "Unit": "USD"}},
         "Groups": [], "Estimated": False},
        {"TimePeriod": {"Start": "2026-11-24", "End": "2026-11-25"}, "Total": {}, "Groups": [], "Estimated": True}]}])
    assert (spend.total, spend.days, spend.estimated, spend.by_service) == (10.5, 2, 1, [])


def test_without_the_state_the_estimate_and_candidates_are_not_assessed_but_the_spend_still_is():
    section = assess(Recorded().down("pulumi", reason="the pulumi CLI is not on PATH"))
    assert section.status == NOT_ASSESSED
    assert section.reason.startswith("estimate: pulumi stack export unreachable: pulumi: the pulumi CLI is not on PATH; "
                                     "candidates: needs the stack's state")
    assert [r.status for r in section.rows if r.name == "actual spend"] == [OK]


@pytest.mark.parametrize("document,why", [
    ({"version": 3, "deployment": {"resources": "none"}}, "the export of production: $.deployment.resources"),
    ({"version": 9, "deployment": {"resources": []}}, "unsupported state \"version\" 9"),
])
def test_a_state_that_is_not_an_export_is_not_assessed_naming_it(document, why):
    section = assess(Recorded().replace("pulumi", "stack-export", document))
    assert section.status == NOT_ASSESSED
    assert section.reason.startswith("estimate: pulumi stack export answered in an unexpected shape: ")
    assert why in section.reason


def test_the_export_of_another_stack_is_not_this_stacks_estimate():
    doc = answer("pulumi", "stack-export")
    for res in doc["deployment"]["resources"]:
        for key in ("urn", "parent", "provider"):
            if isinstance(res.get(key), str):
                res[key] = res[key].replace("urn:pulumi:production::", "urn:pulumi:staging::")
    section = assess(Recorded().replace("pulumi", "stack-export", doc))
    assert section.status == NOT_ASSESSED
    assert "the export is of stack 'staging', not 'production'" in section.reason


def test_nothing_to_name_when_every_group_is_used_and_sized_to_its_workloads():
    def right_sized(res):
        group("general", instanceTypes=["m6i.large"])(res)

    doc = export_with(right_sized)
    doc["deployment"]["resources"] = [r for r in doc["deployment"]["resources"]
                                      if not (r["type"] == NODE_GROUP and r["urn"].endswith("-spot-ng"))]
    section = assess(Recorded().replace("pulumi", "stack-export", doc))
    assert [(r.figure, r.status) for r in section.rows if r.name == "candidates"] == [("none the model can name", OK)]


def test_a_group_whose_taint_no_workload_tolerates_is_idle_capacity():
    doc = export_with(group("gpu", desiredSize=1))
    section = assess(Recorded().replace("pulumi", "stack-export", doc))
    idle = rows(section, ATTENTION)["idle capacity: leadgen-production-gpu-ng"]
    assert idle.startswith("1 x g5.xlarge (on_demand) at 734.38 USD/month")


def test_a_stack_file_the_pack_cannot_read_leaves_every_part_not_assessed(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: leadgen\nruntime: python\n")
    (tmp_path / "Pulumi.production.yaml").write_text("config:\n  leadgen:environment: production\nconfig:\n  x: 1\n")
    section = cost.assess(context(Recorded(), project_root=tmp_path))
    assert section.status == NOT_ASSESSED
    assert section.reason.startswith("estimate: the stack's config cannot be read: ")
    assert "Pulumi.production.yaml" in section.reason and "actual spend: the stack's config" in section.reason
