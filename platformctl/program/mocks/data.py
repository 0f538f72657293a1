"""Mock outputs for the data domain's resource types (RDS, ElastiCache, S3, Secrets Manager), shaped
as AWS returns them: `pulumi preview` under mocks then resolves endpoints and ARNs the way a real
update would, and the backup jobs' policy names real-looking ARNs."""
from __future__ import annotations

import secrets

from platformctl.program.mocks import ACCOUNT_ID, Context, invoke_for, outputs_for, physical_name


def _suffix(*parts: str) -> str:
    # Secrets Manager appends six random characters to every secret's ARN.
    return Context.hexid("suffix", *parts, n=6)


@outputs_for("aws:rds/instance:Instance")
def _db_instance(name, inputs, ctx):
    ident = physical_name(name, inputs, "identifier")
    host = f"{ident}.c{ctx.hexid(ident, n=12)}.{ctx.region}.rds.amazonaws.com"
    port = int(inputs.get("port") or 5432)
    uuid = f"{ctx.hexid(ident, 'u1', n=8)}-{ctx.hexid(ident, 'u2', n=4)}-{ctx.hexid(ident, 'u3', n=4)}-" \
           f"{ctx.hexid(ident, 'u4', n=4)}-{ctx.hexid(ident, 'u5', n=12)}"
    out = {"id": ident, "identifier": ident, "arn": ctx.arn("rds", f"db:{ident}"),
           "address": host, "endpoint": f"{host}:{port}", "port": port,
           "resourceId": f"db-{ctx.hexid(ident, 'res', n=26).upper()}",
           "hostedZoneId": "Z2R2ITUGPM61AM", "status": "available"}
    if inputs.get("manageMasterUserPassword"):
        secret = f"rds!db-{uuid}"
        out["masterUserSecrets"] = [{
            "secretArn": ctx.arn("secretsmanager", f"secret:{secret}-{_suffix(secret)}"),
            "kmsKeyId": inputs.get("masterUserSecretKmsKeyId"), "secretStatus": "active"}]
    return out


def _named_group(service: str, kind: str):
    def fn(name, inputs, ctx):
        n = physical_name(name, inputs)
        return {"id": n, "name": n, "arn": ctx.arn(service, f"{kind}:{n}")}
    return fn


outputs_for("aws:rds/subnetGroup:SubnetGroup")(_named_group("rds", "subgrp"))
outputs_for("aws:rds/parameterGroup:ParameterGroup")(_named_group("rds", "pg"))
outputs_for("aws:elasticache/subnetGroup:SubnetGroup")(_named_group("elasticache", "subnetgroup"))


@outputs_for("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
def _backup_replication(name, inputs, ctx):
    arn = ctx.arn("rds", f"auto-backup:ab-{ctx.hexid(name, n=26)}")
    return {"id": arn}


@outputs_for("aws:elasticache/replicationGroup:ReplicationGroup")
def _replication_group(name, inputs, ctx):
    rg = physical_name(name, inputs, "replicationGroupId")
    short = "".join(p if i == 0 else p[0] for i, p in enumerate(ctx.region.split("-")[:-1]))
    zone = f"{ctx.hexid(rg, n=6)}.ng.0001.{short}{ctx.region.split('-')[-1]}.cache.amazonaws.com"
    clusters = int(inputs.get("numCacheClusters") or 1)
    return {"id": rg, "arn": ctx.arn("elasticache", f"replicationgroup:{rg}"),
            "primaryEndpointAddress": f"master.{rg}.{zone}",
            "readerEndpointAddress": f"replica.{rg}.{zone}",
            "memberClusters": [f"{rg}-{i + 1:03d}" for i in range(clusters)],
            "engineVersionActual": f"{inputs.get('engineVersion', '7.1')}.0"}


@outputs_for("aws:secretsmanager/secret:Secret")
def _secret(name, inputs, ctx):
    n = physical_name(name, inputs)
    arn = ctx.arn("secretsmanager", f"secret:{n}-{_suffix(n)}")
    return {"id": arn, "arn": arn, "name": n}


@outputs_for("aws:secretsmanager/secretVersion:SecretVersion")
def _secret_version(name, inputs, ctx):
    version = ctx.hexid(name, "version", n=32)
    return {"id": f"{inputs.get('secretId')}|{version}", "versionId": version,
            "versionStages": ["AWSCURRENT"]}


@outputs_for("aws:s3/bucket:Bucket")
def _bucket(name, inputs, ctx):
    n = physical_name(name, inputs, "bucket")
    return {"id": n, "bucket": n, "arn": f"arn:aws:s3:::{n}", "region": ctx.region,
            "bucketDomainName": f"{n}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{n}.s3.{ctx.region}.amazonaws.com"}


@outputs_for("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
             "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
def _sg_rule(name, inputs, ctx):
    rid = f"sgr-{ctx.hexid('sgr', name)}"
    return {"id": rid, "securityGroupRuleId": rid,
            "arn": ctx.arn("ec2", f"security-group-rule/{rid}")}


@invoke_for("aws:secretsmanager/getRandomPassword:getRandomPassword")
def _random_password(args, ctx):
    # As Secrets Manager answers it: a new value on every call. A program that feeds one into a
    # resource sends different inputs on every run, which a saved plan refuses; the determinism
    # check (two runs, identical inputs) sees it here as it would be seen there.
    length = int(args.get("passwordLength") or 32)
    return {"id": ctx.region, "randomPassword": secrets.token_hex(length)[:length]}


@outputs_for("random:index/randomPassword:RandomPassword")
def _stateful_password(name, inputs, ctx):
    # Drawn once at create and kept in state: the same value on every later run, so here a value
    # derived from the resource's name and keepers (a new keeper draws a new one).
    length = int(inputs.get("length") or 16)
    keepers = ",".join(f"{k}={v}" for k, v in sorted((inputs.get("keepers") or {}).items()))
    raw = Context.hexid("random-password", name, keepers, n=64) * (length // 64 + 1)
    # Upper case on every other character, so the value meets min_upper/min_lower/min_numeric.
    value = "".join(c.upper() if i % 2 and c.isalpha() else c for i, c in enumerate(raw[:length]))
    return {"id": "none", "result": value, "bcryptHash": f"$2a$10${Context.hexid('bcrypt', value, n=53)}"}


__all__ = ["ACCOUNT_ID"]
