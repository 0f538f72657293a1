"""A managed node group with its own launch template: IMDSv2 only, no SSH, encrypted gp3 root."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}


@dataclass
class NodeGroupArgs:
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    instance_types: Sequence[str]
    min_size: int
    max_size: int
    desired_size: int
    disk_size_gb: int = 50
    capacity_type: str = "ON_DEMAND"  # or SPOT
    gpu: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class NodeGroup(pulumi.ComponentResource):
    def __init__(self, name: str, args: NodeGroupArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:cluster:NodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = name.rsplit("-", 1)[-1]  # `general`, `spot`, `gpu`: the runbook's --nodegroup-name

        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"{group} nodes",
            # IMDSv2 only; hop limit 2 lets pods reach the node's credentials only through IRSA's
            # token exchange rather than by stealing the instance role.
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required",
                              "http_put_response_hop_limit": 2},
            block_device_mappings=[{
                "device_name": "/dev/xvda",
                "ebs": {"volume_size": args.disk_size_gb, "volume_type": "gp3", "encrypted": "true",
                        "kms_key_id": args.kms_key_arn, "delete_on_termination": "true"},
            }],
            tag_specifications=[{"resource_type": "instance", "tags": args.tags},
                                {"resource_type": "volume", "tags": args.tags}],
            tags=args.tags, opts=child)

        labels = {"leadgen.io/node-group": group,
                  "leadgen.io/capacity-type": args.capacity_type.lower()}
        if args.gpu:
            labels["nvidia.com/gpu.present"] = "true"

        self.node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            node_group_name=group,
            node_role_arn=args.node_role_arn,
            subnet_ids=list(args.subnet_ids),
            instance_types=list(args.instance_types),
            capacity_type=args.capacity_type,
            ami_type="AL2023_x86_64_NVIDIA" if args.gpu else "AL2023_x86_64_STANDARD",
            scaling_config={"min_size": args.min_size, "max_size": args.max_size,
                            "desired_size": args.desired_size},
            # Roll one node at a time (a third of a small group would breach the PDBs).
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=labels,
            taints=[GPU_TAINT] if args.gpu else None,
            tags=args.tags,
            # No remote_access block: nodes take no SSH key. The cluster autoscaler owns the
            # desired size after creation, so its changes never show as drift.
            opts=pulumi.ResourceOptions(parent=self,
                                        ignore_changes=["scalingConfig.desiredSize"]))
        self.name = self.node_group.node_group_name
        self.register_outputs({"name": self.name})
