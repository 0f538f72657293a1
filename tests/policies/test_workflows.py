"""The pipeline's promises, read from the workflow files: least permission per job, forks never
holding a write token, `up` only from main through protected environments, applying the plan
that was previewed with the policy pack."""
import pathlib
import re

import yaml

WORKFLOWS = pathlib.Path(__file__).resolve().parents[2] / ".github" / "workflows"


def load(name):
    doc = yaml.load((WORKFLOWS / name).read_text(), Loader=yaml.BaseLoader)  # `on:` stays the text "on"
    return doc, doc["jobs"]


def steps_text(job) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) + str(step.get("with", ""))
                     for step in job.get("steps", []))


def test_every_job_asks_for_its_own_permissions_and_the_default_is_none():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        doc, jobs = load(path.name)
        assert doc.get("permissions") in ({}, "{}", None) or path.name == "audit.yml", path.name
        if path.name == "audit.yml":
            continue
        for name, job in jobs.items():
            assert "permissions" in job, f"{path.name}: job {name} has no permissions of its own"


def test_the_job_that_runs_pull_request_code_can_write_nothing():
    _, jobs = load("preview.yml")
    assert jobs["preview"]["permissions"] == {"contents": "read"}
    assert "github.event.pull_request.head.repo.full_name == github.repository" in jobs["sarif"]["if"]
    assert "upload-artifact" in steps_text(jobs["preview"])
    assert "failed (exit $status)" in steps_text(jobs["preview"])  # a failed program still gets its comment


def test_pull_request_code_never_gets_cloud_credentials():
    # The cluster's API is private and only the deployer role can use it; a pull request's code
    # with any AWS role would be a way around the protected environment. Pull requests get the
    # offline preview (the same program and pack); the real `pulumi preview` against the cluster
    # runs in up.yml's gate job, on the runner inside the VPC, before anything is applied.
    _, jobs = load("preview.yml")
    for name, job in jobs.items():
        assert "id-token" not in (job.get("permissions") or {}), name
        assert "configure-aws-credentials" not in steps_text(job), name


def test_the_comment_is_written_without_running_pull_request_code():
    doc, jobs = load("preview-comment.yml")
    assert doc["on"] == {"workflow_run": {"workflows": ["preview"], "types": ["completed"]}}
    job = jobs["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert "checkout" not in steps_text(job)
    assert "pr.head.sha !== process.env.HEAD_SHA" in steps_text(job)


def test_up_runs_only_from_main_through_a_protected_environment_and_applies_the_previewed_plan():
    _, jobs = load("up.yml")
    assert all(job["if"] == "github.ref == 'refs/heads/main'" for job in jobs.values())
    assert jobs["up"]["environment"] == "${{ inputs.stack }}" and jobs["up"]["needs"] == "gate"
    plan, up = steps_text(jobs["gate"]), steps_text(jobs["up"])
    assert "pulumi preview --diff --non-interactive --policy-pack policies --save-plan plan.json" in plan
    assert "GITHUB_STEP_SUMMARY" in plan and "platformctl change verify" in plan and "platformctl gate" in plan
    assert "--policy-pack policies --plan plan.json" in up
    assert "policies/venv/bin/pip install" in plan and "policies/venv/bin/pip install" in up


def _credentials(job) -> dict:
    steps = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert len(steps) == 1
    return steps[0]


def test_up_reaches_the_private_cluster_from_the_runner_in_the_vpc_as_the_deployer():
    doc, jobs = load("up.yml")
    runner = ["self-hosted", "linux", "leadgen-${{ inputs.stack }}"]
    # The bootstrap project's deployer role trusts only jobs in the environment named for the stack.
    trust = (WORKFLOWS.parents[1] / "bootstrap" / "__main__.py").read_text()
    assert 'subjects(repository, f"environment:{environment}", workflows)' in trust and 'UP_WORKFLOW = "up.yml"' in trust
    for name in ("gate", "up"):  # the gate's real preview talks to the private API as much as the update
        job = jobs[name]
        assert job["runs-on"] == runner, name
        assert job["environment"] == "${{ inputs.stack }}", name
        assert job["permissions"] == {"id-token": "write", "contents": "read"}, name
        step = _credentials(job)
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}", name
        assert "aws-access-key-id" not in step["with"] and "secrets." not in str(step["with"]), name
    assert _credentials(jobs["up"])["with"]["role-duration-seconds"] == "10800"  # a first update runs past 1 h
    assert int(jobs["up"]["timeout-minutes"]) <= 10800 // 60  # the job never outlives its credentials
    assert set(doc["on"]["workflow_dispatch"]["inputs"]["stack"]["options"]) == {
        p.name[len("Pulumi."):-len(".yaml")] for p in WORKFLOWS.parents[1].glob("Pulumi.*.yaml")}


def test_up_takes_a_backup_before_a_declared_database_migration_and_links_it():
    import shlex

    from components import backup_jobs, namespaces
    from jobs.pgbackup import cli as pgbackup

    _, jobs = load("up.yml")
    names = [step.get("name", step.get("uses")) for step in jobs["up"]["steps"]]
    backup = next(s for s in jobs["up"]["steps"] if "backup first" in s.get("name", ""))
    assert names.index(backup["name"]) == names.index("pulumi up, exactly the plan reviewed, with the policy pack") - 1
    run = backup["run"]
    # The question is asked of the request as the pack parses it, not of the file by hand.
    assert 'platformctl change show "$CHANGE_REQUEST" --field database_migration' in run
    assert 'if [ "$migration" != "true" ]' in run and "python -c" not in run and "python3 -c" not in run
    # The nightly CronJob the program declares, in the namespace it declares it in.
    assert backup["env"]["CRONJOB"] == f"{backup_jobs.APP}-backup"
    assert backup["env"]["NAMESPACE"] == namespaces.PRODUCTION
    assert 'create job "$job" --from="cronjob/$CRONJOB"' in run and 'job="pre-migration-$GITHUB_RUN_ID"' in run
    assert 'wait --for=condition=complete --timeout=45m "job/$job"' in run
    # `pgbackup list` exactly as the tool's own parser reads it: no invented flag.
    line = next(line for line in run.splitlines() if "-m jobs.pgbackup list" in line)
    argv = shlex.split(line.split("-m jobs.pgbackup ", 1)[1].removesuffix(')"'))
    parsed = pgbackup._parser().parse_args([a if not a.startswith("$") else "x" for a in argv])
    assert (parsed.command, parsed.bucket, parsed.prefix) == ("list", "x", "x")
    assert "GITHUB_STEP_SUMMARY" in run and "$id" in run


def test_the_audit_judges_each_update_against_the_request_at_its_commit_and_names_not_assessed():
    from platformctl.reports.model import EXIT_NOT_ASSESSED

    _, jobs = load("audit.yml")
    steps = jobs["audit"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == "0"  # `git show <commit>:changes/<ID>.yaml` needs the history
    audit = next(s for s in steps if s.get("id") == "audit")["run"]
    assert audit.count("platformctl audit") == 1 and "--repo . " in audit
    for fmt in ("html", "csv", "sarif", "junit", "markdown"):
        assert fmt in audit.split("for fmt in ", 1)[1].splitlines()[0]
    verdict = next(s for s in steps if s.get("if") == "steps.audit.outputs.status != '0'")
    assert verdict["env"] == {"STATUS": "${{ steps.audit.outputs.status }}"}  # not spliced into the script
    cases = {line.strip().split(")", 1)[0]: line for line in verdict["run"].splitlines()
             if line.strip()[:2] in ("1)", "2)", "3)", "*)")}
    assert f"exit {EXIT_NOT_ASSESSED}: not assessed" in cases[str(EXIT_NOT_ASSESSED)]
    assert "this is not a pass" in cases["3"] and "mandatory findings" in cases["2"]
    assert verdict["run"].rstrip().endswith("exit 1")


def test_third_party_actions_that_receive_cloud_credentials_are_pinned_by_commit():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text().splitlines():
            if "aws-actions/configure-aws-credentials@" in line:
                assert re.search(r"@[0-9a-f]{40}\s+# v\d+\.\d+\.\d+$", line), f"{path.name}: {line.strip()}"


def test_the_pack_declares_the_virtualenv_the_workflows_create():
    pack = yaml.safe_load((WORKFLOWS.parents[1] / "policies" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_every_workflow_is_valid_against_the_published_schema():
    import json

    import jsonschema

    schema = json.loads((WORKFLOWS.parents[2] / "shared" / "schemas" / "github-workflow.json").read_text())
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        document["on"] = document.pop(True)  # YAML 1.1 reads `on` as True; GitHub reads the text
        jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)


def test_staging_deploys_smoke_tests_and_attests_with_a_key_only_its_environment_holds():
    doc, jobs = load("staging.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert set(doc["on"]["push"]["paths-ignore"]) == {"attestations/**", "changes/**"}
    deploy, record = jobs["deploy"], jobs["record"]
    assert deploy["environment"] == "staging" and deploy["permissions"] == {"contents": "read", "id-token": "write"}
    text = steps_text(deploy)
    order = [text.index(s) for s in ("pulumi up --yes --non-interactive --policy-pack policies",
                                     "platformctl change smoke --stack staging",
                                     "platformctl change attest --stack staging --commit \"$GITHUB_SHA\"")]
    assert order == sorted(order)
    # The signing key is read in the one step that signs, from the staging environment's secrets.
    uses_key = [s for s in deploy["steps"] if "PIPELINE_SIGNING_KEY" in str(s)]
    assert len(uses_key) == 1 and "secrets.PIPELINE_SIGNING_KEY" in str(uses_key[0].get("env"))
    for name, job in jobs.items():
        if name != "deploy":
            assert "PIPELINE_SIGNING_KEY" not in str(job), name
    # The job that can write commits only the attestation, and holds no cloud credentials.
    assert record["permissions"] == {"contents": "write"} and "environment" not in record
    assert 'git add "attestations/$GITHUB_SHA.yaml"' in steps_text(record)
    assert "configure-aws-credentials" not in steps_text(record)


def test_dev_deploys_every_push_to_main_without_a_change_request():
    doc, jobs = load("dev.yml")
    assert doc["on"] == {"push": {"branches": ["main"]}}
    text = steps_text(jobs["deploy"])
    assert "pulumi stack select dev" in text and "--policy-pack policies" in text
    assert "changeRequest" not in text and "change approve" not in text


def test_up_hands_the_published_pack_its_change_evidence_before_previewing_and_updating():
    """The policy group's copy of the pack has no repository beside it: both the preview and the
    update get LEADGEN_CHANGE_EVIDENCE, computed after the request is named, in the same step."""
    _, jobs = load("up.yml")
    for name, command in (("gate", "pulumi preview"), ("up", "pulumi up")):
        (step,) = [s["run"] for s in jobs[name]["steps"] if command in s.get("run", "")]
        order = [step.index('pulumi config set leadgen:changeRequest "$CHANGE_REQUEST"'),
                 step.index('LEADGEN_CHANGE_EVIDENCE="$(.venv/bin/python -m platformctl change evidence '
                            '"$CHANGE_REQUEST" --stack "$STACK")"'),
                 step.index("export LEADGEN_CHANGE_EVIDENCE"), step.index(command + " ")]
        assert order == sorted(order), name
