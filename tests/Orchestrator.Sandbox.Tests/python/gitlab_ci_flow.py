"""python-gitlab drives the sandbox's CI: a pipeline with variables, its jobs, variables and job log.

usage: /usr/bin/python3 gitlab_ci_flow.py <base-url> <admin-token> <unique-tag>"""
import sys
import time

import gitlab

url, admin_token, tag = sys.argv[1:4]
gl = gitlab.Gitlab(url, private_token=admin_token)
gl.auth()

project = gl.projects.create({"name": f"ci-{tag}", "initialize_with_readme": True})
project.commits.create({"branch": "main", "commit_message": "CI [skip ci]", "actions": [
    {"action": "create", "file_path": ".gitlab-ci.yml",
     "content": "stages: [build, test]\nbuild:\n  stage: build\n  script:\n    - echo \"building $TARGET\"\n"
                "test:\n  stage: test\n  script:\n    - echo \"testing $TARGET with $MODE\"\n"}]})
assert project.pipelines.list(get_all=True) == [], "[skip ci] must not create a pipeline"

pipeline = project.pipelines.create({"ref": "main", "variables": [
    {"key": "TARGET", "value": "radeonsi"}, {"key": "MODE", "value": "debug"}]})
print("ok   pipeline created:", pipeline.id, pipeline.status)
deadline = time.time() + 60
while pipeline.status not in ("success", "failed", "canceled"):
    assert time.time() < deadline, f"pipeline stuck at {pipeline.status}"
    time.sleep(0.1)
    pipeline.refresh()
assert pipeline.status == "success", pipeline.status
assert pipeline.source == "api", pipeline.source
print("ok   pipeline finished:", pipeline.status, "in", pipeline.duration, "s")

variables = {v.key: v.value for v in pipeline.variables.list()}
assert variables == {"TARGET": "radeonsi", "MODE": "debug"}, variables
jobs = pipeline.jobs.list(get_all=True)
assert [j.name for j in jobs] == ["build", "test"], [j.name for j in jobs]
assert all(j.status == "success" for j in jobs), [j.status for j in jobs]
log = project.jobs.get(jobs[1].id).trace().decode()
assert "testing radeonsi with debug" in log, log
print("ok   variables, jobs and the job log read back")
assert project.pipelines.list(get_all=True)[0].id == pipeline.id
print("PASS")
