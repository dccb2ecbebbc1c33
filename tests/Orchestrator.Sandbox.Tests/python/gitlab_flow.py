"""Drives the sandbox with Debian's python-gitlab, an independent GitLab client: if GitLab's own
client library works against the sandbox, the sandbox speaks GitLab's contract, not ours.

usage: /usr/bin/python3 gitlab_flow.py <base-url> <admin-token> <unique-tag>
Exits non-zero with a message on the first broken expectation."""
import sys
import time

import gitlab
from gitlab import exceptions as exc

url, admin_token, tag = sys.argv[1:4]
admin = gitlab.Gitlab(url, private_token=admin_token)
admin.auth()
assert admin.user.username == "root", admin.user.username


def new_user(name):
    user = admin.users.create({"email": f"{name}-{tag}@example.com", "username": f"{name}-{tag}",
                               "name": f"{name.title()} {tag}", "password": "s3cret-password"})
    token = user.personal_access_tokens.create({"name": "flow", "scopes": ["api"]})
    client = gitlab.Gitlab(url, private_token=token.token)
    client.auth()
    assert client.user.id == user.id, (client.user.id, user.id)
    return user, client


def wait(what, predicate, timeout=20.0):
    deadline = time.time() + timeout
    while True:
        value = what()
        if predicate(value):
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting; last value: {value}")
        time.sleep(0.05)


def expect_http_error(code, action, label):
    try:
        action()
    except exc.GitlabError as e:
        assert e.response_code == code, f"{label}: expected {code}, got {e.response_code}: {e.error_message}"
        print(f"ok   {label}: {code} {e.error_message}")
        return
    raise AssertionError(f"{label}: expected HTTP {code}, but the call succeeded")


maint_user, maint = new_user("maint")
dev_user, dev = new_user("dev")
contrib_user, contrib = new_user("contrib")
stranger_user, stranger = new_user("stranger")

upstream = maint.projects.create({"name": f"mesa-{tag}", "initialize_with_readme": True, "visibility": "public"})
upstream.members.create({"user_id": dev_user.id, "access_level": gitlab.const.DEVELOPER_ACCESS})
assert [m.username for m in upstream.members.list()].count(dev_user.username) == 1
print("ok   users, tokens, project, member")

fork_info = contrib.projects.get(upstream.id).forks.create({})
fork = contrib.projects.get(fork_info.id)
assert fork.forked_from_project["id"] == upstream.id
fork.commits.create({"branch": "bump-tag", "start_branch": "main", "commit_message": "Bump the image tag",
                     "actions": [{"action": "create", "file_path": "image-tags.yml", "content": "BUILD_TAG: 2\n"}]})
raw = fork.files.raw(file_path="image-tags.yml", ref="bump-tag")
assert raw == b"BUILD_TAG: 2\n", raw
print("ok   fork, commit with actions, raw file")

mr = fork.mergerequests.create({"source_branch": "bump-tag", "target_branch": "main", "title": "Bump tag",
                                "target_project_id": upstream.id, "allow_collaboration": True, "labels": ["images"]})
assert mr.project_id == upstream.id and mr.source_project_id == fork.id, (mr.project_id, mr.source_project_id)
up_mr = maint.projects.get(upstream.id).mergerequests.get(mr.iid)
# The fork's author is no member upstream: GitLab silently drops the labels; the target's maintainer sets them.
assert up_mr.labels == [], up_mr.labels
up_mr.labels = ["images"]
up_mr.save()
up_mr = maint.projects.get(upstream.id).mergerequests.get(mr.iid)
assert up_mr.labels == ["images"], up_mr.labels
print(f"ok   fork MR !{mr.iid} opened, merge_status right after creation: {up_mr.merge_status}")

# The target's maintainer may push to the fork's source branch because the MR allows collaboration.
maint.projects.get(fork.id).commits.create({"branch": "bump-tag", "commit_message": "Maintainer fixup",
                                            "actions": [{"action": "update", "file_path": "image-tags.yml",
                                                         "content": "BUILD_TAG: 3\n"}]})
print("ok   allow_collaboration lets the target's maintainer push to the fork branch")

# The target branch moves on, so the MR needs a rebase.
upstream.commits.create({"branch": "main", "commit_message": "Someone else's change",
                         "actions": [{"action": "create", "file_path": "other.txt", "content": "x\n"}]})
main_head = upstream.branches.get("main").commit["id"]

dev.projects.get(upstream.id).mergerequests.get(mr.iid).approve()
approvals = maint.projects.get(upstream.id).mergerequests.get(mr.iid).approvals.get()
assert [a["user"]["username"] for a in approvals.approved_by] == [dev_user.username], approvals.approved_by
print("ok   approved by the developer")

before = maint.projects.get(upstream.id).mergerequests.get(mr.iid)
old_sha = before.sha
before.rebase()
seen = wait(lambda: maint.projects.get(upstream.id).mergerequests.get(mr.iid, include_rebase_in_progress=True),
            lambda m: m.rebase_in_progress)
print("ok   rebase_in_progress observed:", seen.rebase_in_progress)
after = wait(lambda: maint.projects.get(upstream.id).mergerequests.get(mr.iid, include_rebase_in_progress=True),
             lambda m: not m.rebase_in_progress)
assert after.merge_error is None, after.merge_error
assert after.sha != old_sha, "the rebase did not move the source branch"
# Both MR commits now sit on top of the new target HEAD (the target's MR ref holds the fork's objects).
base = upstream.repository_merge_base(["main", after.sha])
assert base["id"] == main_head, (base["id"], main_head)
assert len(upstream.repository_compare("main", after.sha)["commits"]) == 2
print(f"ok   rebased {old_sha[:8]} -> {after.sha[:8]} onto {main_head[:8]}")

mergeable = wait(lambda: maint.projects.get(upstream.id).mergerequests.get(mr.iid),
                 lambda m: m.detailed_merge_status == "mergeable")
expect_http_error(401, lambda: stranger.projects.get(upstream.id).mergerequests.get(mr.iid).merge(),
                  "a non-member cannot merge")
expect_http_error(403, lambda: stranger.projects.get(upstream.id).commits.create(
    {"branch": "main", "commit_message": "x", "actions": [{"action": "create", "file_path": "s.txt", "content": "s"}]}),
                  "a non-member cannot push")
expect_http_error(409, lambda: mergeable.merge(sha="0" * 40), "merge with a wrong sha")
still_open = maint.projects.get(upstream.id).mergerequests.get(mr.iid)
assert still_open.state == "opened", still_open.state

mergeable.merge(sha=after.sha)
merged = maint.projects.get(upstream.id).mergerequests.get(mr.iid)
assert merged.state == "merged", merged.state
assert merged.merged_by["username"] == maint_user.username, merged.merged_by
head = upstream.branches.get("main").commit
assert head["id"] == merged.merge_commit_sha, (head["id"], merged.merge_commit_sha)
assert upstream.commits.get(head["id"]).parent_ids == [main_head, after.sha]
print(f"ok   merged with the right sha as {merged.merge_commit_sha[:8]}")

# Without allow_collaboration the target's members may not push to the fork's branch.
fork.commits.create({"branch": "second", "start_branch": "main", "commit_message": "Second",
                     "actions": [{"action": "create", "file_path": "second.txt", "content": "2\n"}]})
fork.mergerequests.create({"source_branch": "second", "target_branch": "main", "title": "Second",
                           "target_project_id": upstream.id, "allow_collaboration": False})
expect_http_error(403, lambda: maint.projects.get(fork.id).commits.create(
    {"branch": "second", "commit_message": "push", "actions": [{"action": "create", "file_path": "m.txt", "content": "m"}]}),
                  "allow_collaboration off refuses the target's maintainer on the fork branch")
print("PASS")
