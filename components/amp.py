"""Long-term metrics: an Amazon Managed Service for Prometheus workspace that keeps the SLO
recordings for a year or more and evaluates every SLO over its whole window.

The cluster's Prometheus keeps 15 days; an SLO window is 28. The cluster remote-writes its SLO
recordings and the SLIs' raw counters here (SigV4, signed with an IRSA role that may only write to
this workspace), and the workspace's rule engine counts the window from the counters
(`slo_window_rule_file`), so the budget the
dashboards and the error-budget gate read covers the whole window. Grafana and the gate query the
workspace with SigV4 too (service `aps`): Grafana through its own IRSA role, CI through the policy
exported here, which its deploy role attaches.

The workspace also alerts on the window's budget (below 10 % and 0 % left, and a gap in remote
write). Its Alertmanager can only publish to SNS, so a topic, encrypted with a key the service may
use, e-mails the ticket addresses; each address confirms its subscription once (README,
"Prerequisites").
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.irsa import IrsaRole, IrsaRoleArgs
from leadgen.kms import KEY_DEFAULTS
from leadgen.observability.alertmanager import store_alertmanager_definition
from leadgen.observability.yamlout import dump

QUERY_ACTIONS = ["aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"]


@dataclass(kw_only=True)
class LongTermMetricsArgs:
    region: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    retention_days: int
    window_rules: dict  # a Prometheus rule file (`groups:`) the workspace evaluates
    namespace: str  # where Prometheus and Grafana run
    prometheus_service_account: str
    grafana_service_account: str
    # Who gets the window's budget tickets (the workspace's Alertmanager e-mails them through SNS).
    ticket_emails: Sequence[str] = ()
    tags: dict[str, str] = field(default_factory=dict)


def workspace_policy(actions: list[str], workspace_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Workspace", "Effect": "Allow", "Action": actions, "Resource": workspace_arn}]})


def alerts_key_policy(account_id: str, workspace_arn: str) -> str:
    """The account administers the key; the Prometheus service may encrypt for the topic, for
    this workspace only."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "PrometheusPublishes", "Effect": "Allow", "Principal": {"Service": "aps.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id},
                       "ArnEquals": {"aws:SourceArn": workspace_arn}}}]})


def alerts_topic_policy(topic_arn: str, account_id: str, workspace_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "WorkspaceAlertmanager", "Effect": "Allow", "Principal": {"Service": "aps.amazonaws.com"},
         "Action": ["sns:Publish", "sns:GetTopicAttributes"], "Resource": topic_arn,
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id},
                       "ArnEquals": {"aws:SourceArn": workspace_arn}}}]})


def workspace_url(region: str, workspace_id: str) -> str:
    """Base of the workspace's Prometheus-compatible API (`<base>/api/v1/query`, SigV4, service `aps`)."""
    return f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{workspace_id}"


class LongTermMetrics(pulumi.ComponentResource):
    def __init__(self, name: str, args: LongTermMetricsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:amp:LongTermMetrics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.workspace = aws.amp.Workspace(f"{name}-workspace", alias=name, tags=args.tags, opts=child)
        aws.amp.WorkspaceConfiguration(f"{name}-retention", workspace_id=self.workspace.id,
                                       retention_period_in_days=args.retention_days, opts=child)
        aws.amp.RuleGroupNamespace(f"{name}-slo-window", name="slo-window", workspace_id=self.workspace.id,
                                   data=dump(args.window_rules), tags=args.tags, opts=child)

        self._alerts(name, args, child)

        irsa = lambda purpose, account, actions: IrsaRole(f"{name}-{purpose}", IrsaRoleArgs(  # noqa: E731
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer, namespace=args.namespace,
            service_account=account, tags=args.tags,
            policy_json=self.workspace.arn.apply(lambda arn: workspace_policy(actions, arn))), opts=child)
        self.writer_role = irsa("remote-write", args.prometheus_service_account, ["aps:RemoteWrite"])
        self.reader_role = irsa("query", args.grafana_service_account, QUERY_ACTIONS)
        # For CI's error-budget gate: its deploy role attaches this to query the workspace.
        self.query_policy = aws.iam.Policy(
            f"{name}-gate-query", description=f"{name}: query the SLO workspace (error-budget gate)",
            policy=self.workspace.arn.apply(lambda arn: workspace_policy(QUERY_ACTIONS, arn)),
            tags=args.tags, opts=child)

        # The workspace's `prometheus_endpoint`, spelled from its parts so it is known at preview.
        self.query_url = pulumi.Output.all(args.region, self.workspace.id).apply(lambda v: workspace_url(*v))
        self.remote_write_url = self.query_url.apply(lambda u: f"{u}/api/v1/remote_write")
        self.register_outputs({"workspaceId": self.workspace.id, "queryUrl": self.query_url,
                               "queryPolicyArn": self.query_policy.arn, "alertsTopicArn": self.alerts_topic.arn})

    def _alerts(self, name: str, args: LongTermMetricsArgs, child: pulumi.ResourceOptions) -> None:
        account = aws.get_caller_identity_output().account_id
        key = aws.kms.Key(f"{name}-alerts-kms", description=f"{name}: budget alerts topic",
                          **KEY_DEFAULTS, tags=args.tags,
                          policy=pulumi.Output.all(account, self.workspace.arn).apply(
                              lambda v: alerts_key_policy(*v)), opts=child)
        self.alerts_topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id=key.arn, tags=args.tags, opts=child)
        aws.sns.TopicPolicy(f"{name}-alerts-policy", arn=self.alerts_topic.arn,
                            policy=pulumi.Output.all(self.alerts_topic.arn, account, self.workspace.arn).apply(
                                lambda v: alerts_topic_policy(*v)), opts=child)
        for i, address in enumerate(args.ticket_emails):
            aws.sns.TopicSubscription(f"{name}-alerts-email-{i}", topic=self.alerts_topic.arn,
                                      protocol="email", endpoint=address, opts=child)
        self.alert_manager = aws.amp.AlertManagerDefinition(
            f"{name}-alertmanager", workspace_id=self.workspace.id,
            definition=pulumi.Output.all(self.alerts_topic.arn, args.region).apply(
                lambda v: store_alertmanager_definition(*v)), opts=child)
