"""A managed node group with its own launch template: IMDSv2 only (hop limit 1), no SSH, encrypted
gp3 root. The group waits for the add-ons its nodes need to turn Ready (the CNI)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from leadgen.config.cluster import NodeTaint

# The type token this component had before tokens followed `leadgen:<module>:<Class>`; the alias
# keeps a real stack's state (and every child's) instead of replacing it.
PREVIOUS_TYPE = "leadgen:cluster:NodeGroup"

@dataclass(kw_only=True)
class NodeGroupArgs:
    """Everything a group is, as its config declares it; nothing is inferred from its name."""

    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    node_group_name: str  # the EKS name, the runbook's --nodegroup-name
    instance_types: Sequence[str]
    min_size: int
    max_size: int
    desired_size: int
    capacity_type: str  # ON_DEMAND | SPOT
    ami_type: str  # e.g. AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, AL2023_x86_64_NVIDIA
    disk_size_gb: int = 50
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[NodeTaint] = ()
    # What a node needs before it can turn Ready: the CNI add-on (NodeAddons).
    depends_on: Sequence[pulumi.Resource] = ()
    tags: dict[str, str] = field(default_factory=dict)


class NodeGroup(pulumi.ComponentResource):
    def __init__(self, name: str, args: NodeGroupArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:node_group:NodeGroup", name, None, pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]), opts))
        child = pulumi.ResourceOptions(parent=self)

        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"{args.node_group_name} nodes",
            # IMDSv2 only, hop limit 1: the token PUT's reply dies at the pod's extra network hop,
            # so pods cannot read the node role's credentials; they get AWS access through IRSA.
            # Host-network agents (aws-node, kube-proxy) still reach IMDS; the EBS CSI node plugin
            # reads its instance from the Kubernetes API instead (its documented fallback), and
            # the load balancer controller is given its region and VPC rather than asking IMDS.
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required",
                              "http_put_response_hop_limit": 1},
            block_device_mappings=[{
                "device_name": "/dev/xvda",
                "ebs": {"volume_size": args.disk_size_gb, "volume_type": "gp3", "encrypted": "true",
                        "kms_key_id": args.kms_key_arn, "delete_on_termination": "true"},
            }],
            tag_specifications=[{"resource_type": "instance", "tags": args.tags},
                                {"resource_type": "volume", "tags": args.tags}],
            tags=args.tags, opts=child)

        self.node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            # A fixed name: the runbook (`--nodegroup-name`) and the node label use it. A change
            # that would replace a group is made as a new group in config, then the old one removed.
            node_group_name=args.node_group_name,
            node_role_arn=args.node_role_arn,
            subnet_ids=list(args.subnet_ids),
            instance_types=list(args.instance_types),
            capacity_type=args.capacity_type,
            ami_type=args.ami_type,
            scaling_config={"min_size": args.min_size, "max_size": args.max_size,
                            "desired_size": args.desired_size},
            # Roll one node at a time (a third of a small group would breach the PDBs).
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=dict(args.labels),
            taints=[_taint(t) for t in args.taints] or None,
            tags=args.tags,
            # No remote_access block: nodes take no SSH key. The cluster autoscaler owns the
            # desired size after creation, so its changes never show as drift.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on),
                                        ignore_changes=["scalingConfig.desiredSize"]))
        self.name = self.node_group.node_group_name
        self.register_outputs({"name": self.name})


def _taint(t: NodeTaint) -> dict[str, str]:
    return {"key": t.key, **({"value": t.value} if t.value is not None else {}), "effect": t.effect}
