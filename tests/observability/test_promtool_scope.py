"""`scoped` (tools.py) cuts a rule file to some alerts and the recordings they read, so the
promtool tests that simulate days evaluate less. It must keep everything those alerts depend on,
or a test expecting no alert would pass for want of a rule."""
from leadgen.observability.catalog import series_in
from leadgen.observability.slo import parse_slos, slo_rule_file
from leadgen.observability.platform_alerts import PlatformAlertSettings, platform_rule_file
from tests.observability.tools import scoped

SLO_RULES = slo_rule_file(parse_slos([
    {"name": "api-availability", "service": "api", "objective": 99.9, "window": "28d", "sli": "availability"},
    {"name": "api-latency", "service": "api", "objective": 99, "window": "28d", "sli": "latency", "threshold": 0.5},
]), "https://example.test/runbooks", edge_routes={"api": "production/api"})


def _rules(doc):
    return [r for g in doc["groups"] for r in g["rules"]]


def test_every_series_a_kept_rule_reads_that_the_file_records_is_kept():
    for alerts in ({"SLOViolationCritical"}, {"SLOTrafficDrop"}, {"SLOSignalMissing", "SLOViolationCritical"}):
        cut = scoped(SLO_RULES, alerts)
        kept = _rules(cut)
        recorded = {r["record"] for r in _rules(SLO_RULES) if "record" in r}
        kept_records = {r["record"] for r in kept if "record" in r}
        for rule in kept:
            assert series_in(rule["expr"]) & recorded <= kept_records, (alerts, rule.get("record") or rule["alert"])
        # Every alert of those names stays (exp_alerts lists the complete set), none of another.
        assert {r["alert"] for r in kept if "alert" in r} == alerts
        assert [r for r in _rules(SLO_RULES) if r.get("alert") in alerts] == [r for r in kept if "alert" in r]
        assert len(kept) < len(_rules(SLO_RULES))  # the cut is the point


def test_group_settings_and_rule_order_are_kept():
    cut = scoped(SLO_RULES, {"SLOViolationCritical"})
    original = {g["name"]: g for g in SLO_RULES["groups"]}
    for group in cut["groups"]:
        assert {k: v for k, v in group.items() if k != "rules"} == \
               {k: v for k, v in original[group["name"]].items() if k != "rules"}
        order = [id(r) for r in original[group["name"]]["rules"]]
        assert [order.index(id(r)) for r in group["rules"]] == sorted(order.index(id(r)) for r in group["rules"])


def test_an_alert_reading_alerts_or_a_nameless_selector_keeps_the_whole_file():
    platform = platform_rule_file(PlatformAlertSettings())
    for expr in ('ALERTS{alertname="PgBackupFailed"} > 0', '{__name__=~"pgbackup_.*"} > 0'):
        doc = {"groups": [*platform["groups"], {"name": "probe", "rules": [{"alert": "Probe", "expr": expr}]}]}
        assert scoped(doc, {"Probe"}) is doc
