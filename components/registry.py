"""The stack's own ECR repositories for the images it runs (api, backend, pgbackup).

Tags are immutable, so a tag names one build for good and a rollback redeploys exactly what ran;
every push is scanned; images are encrypted with the registry's own KMS key; untagged layers and
old builds expire. Workloads default to these repositories instead of an account the stack does
not own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
from leadgen.kms import KEY_DEFAULTS

# How many tagged builds a repository keeps: enough to roll back across a quarter of releases.
KEEP_TAGGED = 100
UNTAGGED_DAYS = 7


def lifecycle_policy(keep_tagged: int = KEEP_TAGGED, untagged_days: int = UNTAGGED_DAYS) -> str:
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": f"untagged layers go after {untagged_days} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": untagged_days},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": f"keep the newest {keep_tagged} builds",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                       "countNumber": keep_tagged},
         "action": {"type": "expire"}},
    ]})


def repository_url(account: str, region: str, name: str) -> str:
    """The URL ECR gives a private repository (`repository_url`)."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{name}"


@dataclass(kw_only=True)
class ImageRepositoriesArgs:
    prefix: str  # repository names are `<prefix>/<image>`
    images: Sequence[str]
    tags: dict[str, str] = field(default_factory=dict)


class ImageRepositories(pulumi.ComponentResource):
    def __init__(self, name: str, args: ImageRepositoriesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:registry:ImageRepositories", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output().account_id
        region = aws.get_region_output().region
        self.kms_key = aws.kms.Key(f"{name}-key", description=f"ECR images of {args.prefix}",
                                   **KEY_DEFAULTS,
                                   tags=args.tags, opts=child)
        self.repositories: dict[str, aws.ecr.Repository] = {}
        self.urls: dict[str, pulumi.Output[str]] = {}
        for image in args.images:
            repo = aws.ecr.Repository(
                f"{name}-{image}",
                # A fixed name: CI pushes to it by name (`docker push <url>:<tag>`), before the
                # update that deploys the tag. Replacing a repository is never wanted anyway.
                name=f"{args.prefix}/{image}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": self.kms_key.arn}],
                tags=args.tags, opts=child)
            aws.ecr.LifecyclePolicy(f"{name}-{image}", repository=repo.name, policy=lifecycle_policy(),
                                    opts=child)
            self.repositories[image] = repo
            # The same value as `repo.repository_url`, which a first preview cannot know yet:
            # built from the account, region and name it is known then, so reviewers and the
            # pack see the image a Deployment will pull. It still depends on the repository.
            self.urls[image] = pulumi.Output.all(account, region, repo.name).apply(
                lambda v: repository_url(*v))
        self.register_outputs({"urls": self.urls})
