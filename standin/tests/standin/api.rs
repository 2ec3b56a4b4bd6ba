//! The REST API: the gate (User-Agent, tokens, rate limit, ETag) and the endpoints' shapes.

use serde_json::json;

use crate::support::{TOKEN, agent, commit, fixture, git, push, read};

#[test]
fn a_request_without_user_agent_is_refused() {
    let fx = fixture();
    let answer = read(agent().get(fx.api("/user")).call().unwrap());
    assert_eq!(answer.status, 403);
    assert!(
        answer
            .body
            .starts_with("Request forbidden by administrative rules.")
    );
    assert!(answer.body.contains("User-Agent header"));
    assert_eq!(fx.standin.requests().last().unwrap().user_agent, None);
}

#[test]
fn user_needs_a_known_token_and_shows_its_scopes() {
    let fx = fixture();
    let me = fx.get("/user", Some(TOKEN));
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["login"], "alice");
    assert!(me.json()["id"].is_u64());
    assert_eq!(me.header("x-oauth-scopes"), Some("repo, workflow"));

    let stranger = fx.get("/user", Some("gho_unknown"));
    assert_eq!(stranger.status, 401);
    assert_eq!(stranger.json()["message"], "Bad credentials");
    assert!(stranger.json()["documentation_url"].is_string());

    assert_eq!(fx.get("/user", None).status, 401);

    fx.standin.revoke_token(TOKEN);
    assert_eq!(fx.get("/user", Some(TOKEN)).status, 401);
    let recorded = fx.standin.requests();
    assert!(recorded.iter().all(|r| r.authorization || r.status != 200));
    assert!(
        !format!("{recorded:?}").contains(TOKEN),
        "the log holds no token"
    );
}

#[test]
fn rate_limit_counts_down_and_a_matching_etag_answers_304_uncounted() {
    let fx = fixture();
    let first = fx.get("/repos/alice/proj", Some(TOKEN));
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-ratelimit-limit"), Some("5000"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("4999"));
    assert_eq!(first.header("x-ratelimit-used"), Some("1"));
    assert_eq!(first.header("x-ratelimit-resource"), Some("core"));
    assert!(
        first
            .header("x-ratelimit-reset")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 1_700_000_000
    );
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");

    let again = fx.get_with(
        "/repos/alice/proj",
        Some(TOKEN),
        &[("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.header("x-ratelimit-remaining"), Some("4999"));

    let stale = fx.get_with(
        "/repos/alice/proj",
        Some(TOKEN),
        &[("If-None-Match", "W/\"old\"")],
    );
    assert_eq!(stale.status, 200);
    assert_eq!(stale.header("x-ratelimit-remaining"), Some("4998"));
}

#[test]
fn repo_and_unknown_paths() {
    let fx = fixture();
    let repo = fx.get("/repos/alice/proj", Some(TOKEN)).json();
    assert_eq!(repo["full_name"], "alice/proj");
    assert_eq!(repo["name"], "proj");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["owner"]["login"], "alice");
    assert_eq!(repo["private"], false);
    assert!(repo["html_url"].as_str().unwrap().ends_with("/alice/proj"));

    for path in [
        "/repos/alice/nope",
        "/repos/alice/proj/unknown",
        "/nothing/here",
    ] {
        let answer = fx.get(path, Some(TOKEN));
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(
            answer.json(),
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        );
    }
}

fn create(fx: &crate::support::Fixture, body: serde_json::Value) -> crate::support::Answer {
    fx.post("/repos/alice/proj/pulls", &body.to_string())
}

fn first_error(answer: &crate::support::Answer) -> serde_json::Value {
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.json()["message"], "Validation Failed");
    answer.json()["errors"][0].clone()
}

#[test]
fn pull_requests_are_created_listed_and_followed() {
    let fx = fixture();
    let (work, sha) = fx.pushed_feature();

    let created = create(
        &fx,
        json!({"title": "Feature", "head": "alice:feature", "base": "main", "body": "Why"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let pull = created.json();
    assert_eq!(pull["number"], 1);
    assert_eq!(pull["state"], "open");
    assert_eq!(pull["draft"], false);
    assert_eq!(pull["merged"], false);
    assert_eq!(pull["head"]["ref"], "feature");
    assert_eq!(pull["head"]["sha"], sha.as_str());
    assert_eq!(pull["head"]["label"], "alice:feature");
    assert_eq!(pull["head"]["repo"]["full_name"], "alice/proj");
    assert_eq!(pull["base"]["ref"], "main");
    assert_eq!(pull["user"]["login"], "alice");
    let html_url = pull["html_url"].as_str().unwrap();
    assert_eq!(html_url, format!("{}/alice/proj/pull/1", fx.standin.url()));

    // The same head and base again: GitHub's "already exists", matched by message.
    let again = first_error(&create(
        &fx,
        json!({"title": "Again", "head": "feature", "base": "main"}),
    ));
    assert_eq!(again["code"], "custom");
    assert_eq!(
        again["message"],
        "A pull request already exists for alice:feature."
    );

    let listed = fx.get(
        "/repos/alice/proj/pulls?head=alice:feature&state=open",
        Some(TOKEN),
    );
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    assert_eq!(listed.json()[0]["html_url"], html_url);
    let other = fx.get(
        "/repos/alice/proj/pulls?head=alice:other&state=all",
        Some(TOKEN),
    );
    assert_eq!(other.json(), json!([]));

    // A push moves the head; the answer reads the branch again.
    commit(&work, "more work");
    let pushed = push(
        &work,
        &fx.standin.clone_url("alice", "proj"),
        Some(TOKEN),
        &["feature"],
    );
    assert!(pushed.status.success());
    let moved = git(&work, &["rev-parse", "HEAD"]);
    assert_ne!(moved, sha);
    let pull = fx.get("/repos/alice/proj/pulls/1", Some(TOKEN)).json();
    assert_eq!(pull["head"]["sha"], moved.as_str());

    assert!(fx.standin.add_review("alice", "proj", 1, "bob", "APPROVED"));
    let reviews = fx
        .get("/repos/alice/proj/pulls/1/reviews", Some(TOKEN))
        .json();
    assert_eq!(reviews[0]["user"]["login"], "bob");
    assert_eq!(reviews[0]["state"], "APPROVED");
    assert!(reviews[0]["submitted_at"].as_str().unwrap().ends_with('Z'));

    assert!(
        fx.standin
            .set_pull("alice", "proj", 1, None, Some(true), None)
    );
    let merged = fx.get("/repos/alice/proj/pulls/1", Some(TOKEN)).json();
    assert_eq!(merged["state"], "closed");
    assert_eq!(merged["merged"], true);
    assert!(merged["merged_at"].is_string());
    let open = fx.get("/repos/alice/proj/pulls?head=alice:feature", Some(TOKEN));
    assert_eq!(open.json(), json!([]));
    let closed = fx.get(
        "/repos/alice/proj/pulls?head=alice:feature&state=closed",
        Some(TOKEN),
    );
    assert_eq!(closed.json()[0]["number"], 1);
    assert!(
        !fx.standin
            .set_pull("alice", "proj", 9, Some("closed"), None, None)
    );
    assert_eq!(fx.get("/repos/alice/proj/pulls/9", Some(TOKEN)).status, 404);
}

#[test]
fn pull_request_refusals_have_githubs_shapes() {
    let fx = fixture();
    let (work, _) = fx.pushed_feature();

    let head = first_error(&create(
        &fx,
        json!({"title": "T", "head": "alice:missing", "base": "main"}),
    ));
    assert_eq!(
        head,
        json!({"resource": "PullRequest", "field": "head", "code": "invalid"})
    );
    let base = first_error(&create(
        &fx,
        json!({"title": "T", "head": "feature", "base": "missing"}),
    ));
    assert_eq!(
        base,
        json!({"resource": "PullRequest", "field": "base", "code": "invalid"})
    );
    let missing = first_error(&create(&fx, json!({"head": "feature", "base": "main"})));
    assert_eq!(missing["field"], "title");
    assert_eq!(missing["code"], "missing_field");

    git(&work, &["checkout", "-q", "-b", "empty", "main"]);
    assert!(
        push(
            &work,
            &fx.standin.clone_url("alice", "proj"),
            Some(TOKEN),
            &["empty"]
        )
        .status
        .success()
    );
    let none = first_error(&create(
        &fx,
        json!({"title": "T", "head": "empty", "base": "main"}),
    ));
    assert_eq!(none["code"], "custom");
    assert_eq!(none["message"], "No commits between main and empty");

    assert!(fx.standin.set_draft_supported("alice", "proj", false));
    let draft = create(
        &fx,
        json!({"title": "T", "head": "feature", "base": "main", "draft": true}),
    );
    assert_eq!(draft.status, 422);
    assert_eq!(
        draft.json()["message"],
        "Draft pull requests are not supported in this repository."
    );
    fx.standin.set_draft_supported("alice", "proj", true);
    let draft = create(
        &fx,
        json!({"title": "T", "head": "feature", "base": "main", "draft": true}),
    );
    assert_eq!(draft.status, 201);
    assert_eq!(draft.json()["draft"], true);

    let broken = fx.post("/repos/alice/proj/pulls", "{\"title\": ");
    assert_eq!(broken.status, 400);
    assert_eq!(broken.json()["message"], "Problems parsing JSON");
    assert_eq!(fx.post("/repos/alice/nope/pulls", "{}").status, 404);
}

#[test]
fn combined_status_and_check_runs_by_sha_or_branch() {
    let fx = fixture();
    let (_, sha) = fx.pushed_feature();
    let status = |reference: &str| {
        fx.get(
            &format!("/repos/alice/proj/commits/{reference}/status"),
            Some(TOKEN),
        )
        .json()
    };

    let none = status(&sha);
    assert_eq!(none["state"], "pending");
    assert_eq!(none["total_count"], 0);
    assert_eq!(none["sha"], sha.as_str());

    assert!(fx.standin.set_status(
        "alice",
        "proj",
        &sha,
        "ci/build",
        "pending",
        Some("https://ci/1")
    ));
    assert!(
        fx.standin
            .set_status("alice", "proj", &sha, "ci/lint", "success", None)
    );
    assert_eq!(status("feature")["state"], "pending");
    fx.standin.set_status(
        "alice",
        "proj",
        &sha,
        "ci/build",
        "failure",
        Some("https://ci/1"),
    );
    let failing = status("feature");
    assert_eq!(failing["state"], "failure");
    assert_eq!(
        failing["total_count"], 2,
        "a context's newer status replaces its older one"
    );
    assert_eq!(failing["statuses"][0]["context"], "ci/build");
    assert_eq!(failing["statuses"][0]["target_url"], "https://ci/1");
    fx.standin
        .set_status("alice", "proj", "feature", "ci/build", "success", None);
    assert_eq!(status(&sha)["state"], "success");

    let runs = |reference: &str| {
        fx.get(
            &format!("/repos/alice/proj/commits/{reference}/check-runs"),
            Some(TOKEN),
        )
        .json()
    };
    assert_eq!(runs(&sha), json!({"total_count": 0, "check_runs": []}));
    assert!(fx.standin.set_check_run(
        "alice",
        "proj",
        &sha,
        "tests",
        "in_progress",
        None,
        Some("https://ci/run/7")
    ));
    let running = runs("feature");
    assert_eq!(running["total_count"], 1);
    assert_eq!(running["check_runs"][0]["status"], "in_progress");
    assert_eq!(
        running["check_runs"][0]["conclusion"],
        serde_json::Value::Null
    );
    assert_eq!(running["check_runs"][0]["html_url"], "https://ci/run/7");
    assert_eq!(running["check_runs"][0]["head_sha"], sha.as_str());
    fx.standin.set_check_run(
        "alice",
        "proj",
        &sha,
        "tests",
        "completed",
        Some("failure"),
        Some("https://ci/run/7"),
    );
    let done = runs(&sha);
    assert_eq!(done["total_count"], 1);
    assert_eq!(done["check_runs"][0]["id"], running["check_runs"][0]["id"]);
    assert_eq!(done["check_runs"][0]["conclusion"], "failure");

    let unknown = fx.get(
        "/repos/alice/proj/commits/no-such-branch/status",
        Some(TOKEN),
    );
    assert_eq!(unknown.status, 422);
    assert_eq!(
        unknown.json()["message"],
        "No commit found for SHA: no-such-branch"
    );
}
