"""The dead man's switch, declared here instead of rented from a heartbeat vendor.

Alertmanager publishes the always-firing `Watchdog` to an SNS topic every minute (signed with its
own IRSA role, so no credential sits in its configuration). A CloudWatch alarm counts what the
topic receives; when `missing_minutes` consecutive minutes pass without one, Prometheus,
Alertmanager or the path between them and AWS is down, and the alarm publishes to the page topic,
which PagerDuty's Amazon CloudWatch integration subscribes to: the dead man's switch pages through
the same on-call schedule and escalation policy as every other page. That subscription carries the
integration key in its URL, so it is made once by hand (README, "Prerequisites"), never by config
or state; the README gives the command that checks it.

Opsgenie, the previous heartbeat, stops its API on 2027-04-05 and paged through a second on-call
system nobody declared.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.irsa import IrsaRole, IrsaRoleArgs
from leadgen.kms import KEY_DEFAULTS

# CloudWatch's smallest standard period; the alarm needs this many silent ones in a row.
PERIOD_SECONDS = 60


@dataclass(kw_only=True)
class HeartbeatArgs:
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    namespace: str  # Alertmanager's
    service_account: str  # Alertmanager's; its IRSA role may publish to the heartbeat topic only
    # Silent minutes before the page: Alertmanager repeats Watchdog every minute, so five
    # missed in a row is an outage, not a late notification.
    missing_minutes: int = 5
    tags: dict[str, str] = field(default_factory=dict)


def key_policy(account_id: str) -> str:
    """The account administers the key (and grants the publishing role through IAM); CloudWatch
    may encrypt for the page topic when the alarm fires."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}]})


def publish_policy(topic_arn: str, key_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Watchdog", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
        {"Sid": "TopicKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key_arn}]})


def alarm_topic_policy(topic_arn: str, account_id: str, alarm_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "HeartbeatAlarm", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic_arn,
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id},
                       "ArnLike": {"aws:SourceArn": alarm_arn}}}]})


class Heartbeat(pulumi.ComponentResource):
    def __init__(self, name: str, args: HeartbeatArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:heartbeat:Heartbeat", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output().account_id
        region = aws.get_region_output().region
        key = aws.kms.Key(f"{name}-kms", description=f"{name}: heartbeat topics", **KEY_DEFAULTS,
                          policy=account.apply(key_policy), tags=args.tags, opts=child)
        self.topic = aws.sns.Topic(f"{name}-watchdog", name=f"{name}-watchdog", kms_master_key_id=key.arn,
                                   tags=args.tags, opts=child)
        # Named, so the README's check can spell it: PagerDuty's CloudWatch integration subscribes here.
        self.page_topic = aws.sns.Topic(f"{name}-page", name=f"{name}-page", kms_master_key_id=key.arn,
                                        tags=args.tags, opts=child)
        self.role = IrsaRole(f"{name}-publisher", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer, namespace=args.namespace,
            service_account=args.service_account, tags=args.tags,
            policy_json=pulumi.Output.all(self.topic.arn, key.arn).apply(lambda v: publish_policy(*v))), opts=child)
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-silent", name=f"{name}-silent", namespace="AWS/SNS", metric_name="NumberOfMessagesPublished",
            dimensions={"TopicName": self.topic.name}, statistic="Sum", period=PERIOD_SECONDS,
            evaluation_periods=args.missing_minutes, datapoints_to_alarm=args.missing_minutes,
            comparison_operator="LessThanThreshold", threshold=1,
            # No datapoint is exactly what a dead Alertmanager looks like.
            treat_missing_data="breaching",
            alarm_description=(f"Alertmanager's Watchdog has not arrived for {args.missing_minutes} minutes: "
                               "Prometheus, Alertmanager or their path to AWS is down, and no other alert can "
                               "reach anyone (docs/runbooks/monitoring-data-missing.md)"),
            alarm_actions=[self.page_topic.arn], ok_actions=[self.page_topic.arn], tags=args.tags, opts=child)
        alarm_arn = pulumi.Output.concat("arn:aws:cloudwatch:", region, ":", account, ":alarm:", f"{name}-silent")
        aws.sns.TopicPolicy(f"{name}-page-policy", arn=self.page_topic.arn,
                            policy=pulumi.Output.all(self.page_topic.arn, account, alarm_arn).apply(
                                lambda v: alarm_topic_policy(*v)), opts=child)
        self.missing_minutes = args.missing_minutes
        self.register_outputs({"topicArn": self.topic.arn, "pageTopicArn": self.page_topic.arn,
                               "publisherRoleArn": self.role.arn})
