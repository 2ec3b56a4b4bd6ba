//! The REST API under `/api/v3`: one gate in front of every endpoint (User-Agent, token,
//! rate-limit headers, ETag and `If-None-Match`), then the endpoints Grove uses, answering in
//! GitHub's shapes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Shared;
use crate::git;
use crate::state::{Pull, repo_key, timestamp};

const DOCS: &str = "https://docs.github.com/rest";
const NO_USER_AGENT: &str = "Request forbidden by administrative rules. Please make sure your \
request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). \
Check https://developer.github.com for other possible causes.\n";

/// Who is asking, as the gate found out from the `Authorization` header.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub login: Option<String>,
}

pub(crate) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/user", get(user))
        .route("/repos/{owner}/{repo}", get(repo))
        .route(
            "/repos/{owner}/{repo}/pulls",
            get(list_pulls).post(create_pull),
        )
        .route("/repos/{owner}/{repo}/pulls/{number}", get(get_pull))
        .route("/repos/{owner}/{repo}/pulls/{number}/reviews", get(reviews))
        .route(
            "/repos/{owner}/{repo}/commits/{reference}/status",
            get(combined_status),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{reference}/check-runs",
            get(check_runs),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(shared, gate))
}

/// GitHub's error shape, `{message, documentation_url}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"message": message, "documentation_url": DOCS})),
    )
        .into_response()
}

pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

fn validation_failed(errors: Value) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        })),
    )
        .into_response()
}

/// The token of an `Authorization: Bearer T` or `token T` header; `Err` for any other form.
fn bearer(headers: &HeaderMap) -> Option<Result<String, ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        return Some(Err(()));
    };
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        && !token.is_empty()
    {
        Some(Ok(token.to_owned()))
    } else {
        Some(Err(()))
    }
}

/// Whether an `If-None-Match` header names `etag` (weak comparison, as GitHub does).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

async fn gate(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    if !request.headers().contains_key(header::USER_AGENT) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            NO_USER_AGENT,
        )
            .into_response();
    }
    let (key, login, scopes) = match bearer(request.headers()) {
        None => ("anonymous".to_owned(), None, None),
        Some(token) => {
            let known = token
                .ok()
                .and_then(|t| shared.state.lock().tokens.get(&t).cloned().map(|k| (t, k)));
            match known {
                Some((token, known)) => (
                    format!("token:{token}"),
                    Some(known.login),
                    Some(known.scopes.join(", ")),
                ),
                None => {
                    let mut response = error(StatusCode::UNAUTHORIZED, "Bad credentials");
                    rate_headers(&shared, &mut response, "anonymous", true, true);
                    return response;
                }
            }
        }
    };
    let conditional = request.method() == Method::GET;
    let if_none_match = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    request.extensions_mut().insert(Caller {
        login: login.clone(),
    });

    let (mut parts, body) = next.run(request).await.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"),
    };
    let etag = format!("W/\"{:x}\"", Sha256::digest(&bytes));
    let response_ok = parts.status.is_success();
    let unchanged = conditional
        && parts.status == StatusCode::OK
        && if_none_match.is_some_and(|inm| etag_matches(&inm, &etag));
    let mut response = if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().extend(
            parts
                .headers
                .drain()
                .filter_map(|(k, v)| Some((k?, v)))
                .filter(|(k, _)| k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH),
        );
        response
    } else {
        Response::from_parts(parts, Body::from(bytes))
    };
    let headers = response.headers_mut();
    if (unchanged || response_ok)
        && let Ok(value) = HeaderValue::from_str(&etag)
    {
        headers.insert(header::ETAG, value);
    }
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/json")
    {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    if let Some(scopes) = scopes.and_then(|s| HeaderValue::from_str(&s).ok()) {
        headers.insert("x-oauth-scopes", scopes);
    }
    headers.insert(
        "x-github-media-type",
        HeaderValue::from_static("github.v3; format=json"),
    );
    rate_headers(&shared, &mut response, &key, login.is_none(), !unchanged);
    response
}

fn rate_headers(shared: &Shared, response: &mut Response, key: &str, anonymous: bool, count: bool) {
    let (limit, remaining, reset, used) = shared.state.lock().count_request(key, anonymous, count);
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-resource", "core".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

fn requires_authentication() -> Response {
    error(StatusCode::UNAUTHORIZED, "Requires authentication")
}

/// A JSON body as GitHub reads it: anything unparsable is a 400.
fn parse_json(body: &Bytes) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(error(StatusCode::BAD_REQUEST, "Problems parsing JSON")),
    }
}

async fn user(State(shared): State<Arc<Shared>>, Extension(caller): Extension<Caller>) -> Response {
    let Some(login) = caller.login else {
        return requires_authentication();
    };
    let id = shared.state.lock().user_id(&login);
    axum::Json(json!({
        "login": login,
        "id": id,
        "name": login,
        "type": "User",
        "html_url": format!("{}/{login}", shared.url),
        "avatar_url": format!("{}/avatars/{login}", shared.url),
    }))
    .into_response()
}

/// What the endpoints need of a repository, copied out of the state.
struct RepoInfo {
    id: u64,
    owner: String,
    name: String,
    owner_id: u64,
    path: std::path::PathBuf,
    draft_supported: bool,
}

fn find_repo(shared: &Shared, owner: &str, name: &str) -> Result<RepoInfo, Response> {
    let mut state = shared.state.lock();
    let Some(repo) = state.repos.get(&repo_key(owner, name)) else {
        return Err(not_found_now());
    };
    let (id, owner, name, draft_supported) = (
        repo.id,
        repo.owner.clone(),
        repo.name.clone(),
        repo.draft_supported,
    );
    let owner_id = state.user_id(&owner);
    Ok(RepoInfo {
        path: shared.repo_path(&owner, &name),
        id,
        owner,
        name,
        owner_id,
        draft_supported,
    })
}

fn not_found_now() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

async fn repo(
    State(shared): State<Arc<Shared>>,
    Path((owner, name)): Path<(String, String)>,
) -> Response {
    let repo = match find_repo(&shared, &owner, &name) {
        Ok(repo) => repo,
        Err(response) => return response,
    };
    axum::Json(json!({
        "id": repo.id,
        "name": repo.name,
        "full_name": format!("{}/{}", repo.owner, repo.name),
        "private": false,
        "default_branch": "main",
        "html_url": format!("{}/{}/{}", shared.url, repo.owner, repo.name),
        "clone_url": format!("{}/{}/{}.git", shared.url, repo.owner, repo.name),
        "url": format!("{}/repos/{}/{}", shared.api_url(), repo.owner, repo.name),
        "owner": {"login": repo.owner, "id": repo.owner_id, "type": "User"},
    }))
    .into_response()
}

/// Reads the branches of `pulls` again so their shas are current, and remembers them.
async fn refresh(shared: &Shared, repo: &RepoInfo, pulls: &mut [Pull]) {
    for pull in pulls.iter_mut() {
        if let Some(sha) = git::branch_sha(&repo.path, &pull.head_ref).await {
            pull.head_sha = sha;
        }
        if let Some(sha) = git::branch_sha(&repo.path, &pull.base_ref).await {
            pull.base_sha = sha;
        }
    }
    let mut state = shared.state.lock();
    for fresh in pulls.iter() {
        if let Some(kept) = state.pull_mut(&repo.owner, &repo.name, fresh.number) {
            kept.head_sha.clone_from(&fresh.head_sha);
            kept.base_sha.clone_from(&fresh.base_sha);
        }
    }
}

fn pull_json(shared: &Shared, repo: &RepoInfo, pull: &Pull) -> Value {
    let full_name = format!("{}/{}", repo.owner, repo.name);
    let state = if pull.open { "open" } else { "closed" };
    let mergeable_state = match (pull.open, pull.draft) {
        (true, true) => "draft",
        (true, false) => "clean",
        (false, _) => "unknown",
    };
    json!({
        "id": pull.id,
        "number": pull.number,
        "html_url": format!("{}/{full_name}/pull/{}", shared.url, pull.number),
        "url": format!("{}/repos/{full_name}/pulls/{}", shared.api_url(), pull.number),
        "state": state,
        "draft": pull.draft,
        "merged": pull.merged_at.is_some(),
        "merged_at": pull.merged_at,
        "closed_at": if pull.open { None } else { Some(&pull.updated_at) },
        "title": pull.title,
        "body": pull.body,
        "head": {
            "ref": pull.head_ref,
            "sha": pull.head_sha,
            "label": format!("{}:{}", repo.owner, pull.head_ref),
            "repo": {"full_name": full_name, "name": repo.name, "owner": {"login": repo.owner}},
        },
        "base": {
            "ref": pull.base_ref,
            "sha": pull.base_sha,
            "label": format!("{}:{}", repo.owner, pull.base_ref),
            "repo": {"full_name": full_name, "name": repo.name, "owner": {"login": repo.owner}},
        },
        "user": {"login": pull.login},
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "mergeable_state": mergeable_state,
    })
}

fn string_field<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

async fn create_pull(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(login) = caller.login else {
        return requires_authentication();
    };
    let repo = match find_repo(&shared, &owner, &name) {
        Ok(repo) => repo,
        Err(response) => return response,
    };
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let missing: Vec<Value> = ["title", "head", "base"]
        .into_iter()
        .filter(|f| string_field(&body, f).is_none())
        .map(|f| json!({"resource": "PullRequest", "field": f, "code": "missing_field"}))
        .collect();
    let (Some(title), Some(head), Some(base)) = (
        string_field(&body, "title"),
        string_field(&body, "head"),
        string_field(&body, "base"),
    ) else {
        return validation_failed(Value::Array(missing));
    };
    let draft = body.get("draft").and_then(Value::as_bool).unwrap_or(false);
    let text = body.get("body").and_then(Value::as_str).map(str::to_owned);

    // `head` is `branch` or `owner:branch`; only branches of this repository are known here.
    let head_ref = match head.split_once(':') {
        Some((head_owner, branch)) if head_owner.eq_ignore_ascii_case(&repo.owner) => branch,
        Some(_) => "",
        None => head,
    };
    let invalid = |field: &str| {
        validation_failed(json!([{"resource": "PullRequest", "field": field, "code": "invalid"}]))
    };
    let Some(base_sha) = git::branch_sha(&repo.path, base).await else {
        return invalid("base");
    };
    let head_sha = match head_ref {
        "" => None,
        branch => git::branch_sha(&repo.path, branch).await,
    };
    let Some(head_sha) = head_sha else {
        return invalid("head");
    };
    if draft && !repo.draft_supported {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Draft pull requests are not supported in this repository.",
        );
    }
    let exists = || {
        validation_failed(json!([{
            "resource": "PullRequest",
            "code": "custom",
            "message": format!("A pull request already exists for {}:{head_ref}.", repo.owner),
        }]))
    };
    let open_exists = |state: &crate::state::State| {
        state
            .repos
            .get(&repo_key(&repo.owner, &repo.name))
            .is_some_and(|r| {
                r.pulls
                    .iter()
                    .any(|p| p.open && p.head_ref == head_ref && p.base_ref == base)
            })
    };
    if open_exists(&shared.state.lock()) {
        return exists();
    }
    if git::commits_between(&repo.path, base, head_ref).await == Some(0) {
        return validation_failed(json!([{
            "resource": "PullRequest",
            "code": "custom",
            "message": format!("No commits between {base} and {head_ref}"),
        }]));
    }

    let pull = {
        let mut state = shared.state.lock();
        // Checked again: another request may have created it while git ran.
        if open_exists(&state) {
            return exists();
        }
        let id = state.next_id();
        let Some(kept) = state.repo_mut(&repo.owner, &repo.name) else {
            return not_found_now();
        };
        kept.next_number += 1;
        let now = timestamp();
        let pull = Pull {
            id,
            number: kept.next_number,
            title: title.to_owned(),
            body: text,
            head_ref: head_ref.to_owned(),
            head_sha,
            base_ref: base.to_owned(),
            base_sha,
            open: true,
            draft,
            merged_at: None,
            login,
            created_at: now.clone(),
            updated_at: now,
            reviews: Vec::new(),
        };
        kept.pulls.push(pull.clone());
        pull
    };
    let json = pull_json(&shared, &repo, &pull);
    let location = json["url"].as_str().unwrap_or_default().to_owned();
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(json),
    )
        .into_response()
}

async fn list_pulls(
    State(shared): State<Arc<Shared>>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let repo = match find_repo(&shared, &owner, &name) {
        Ok(repo) => repo,
        Err(response) => return response,
    };
    let wanted_state = query.get("state").map(String::as_str).unwrap_or("open");
    let head = query.get("head").map(|h| match h.split_once(':') {
        Some((o, branch)) => (Some(o.to_owned()), branch.to_owned()),
        None => (None, h.clone()),
    });
    let base = query.get("base");
    let mut pulls: Vec<Pull> = {
        let state = shared.state.lock();
        let Some(kept) = state.repos.get(&repo_key(&repo.owner, &repo.name)) else {
            return not_found_now();
        };
        kept.pulls
            .iter()
            .filter(|p| match wanted_state {
                "all" => true,
                "closed" => !p.open,
                _ => p.open,
            })
            .filter(|p| match &head {
                None => true,
                Some((Some(o), branch)) => {
                    o.eq_ignore_ascii_case(&repo.owner) && &p.head_ref == branch
                }
                Some((None, branch)) => &p.head_ref == branch,
            })
            .filter(|p| base.is_none_or(|b| &p.base_ref == b))
            .rev()
            .cloned()
            .collect()
    };
    refresh(&shared, &repo, &mut pulls).await;
    let list: Vec<Value> = pulls.iter().map(|p| pull_json(&shared, &repo, p)).collect();
    axum::Json(list).into_response()
}

async fn one_pull(
    shared: &Shared,
    owner: &str,
    name: &str,
    number: &str,
) -> Result<(RepoInfo, Pull), Response> {
    let repo = find_repo(shared, owner, name)?;
    let number: u64 = number.parse().map_err(|_| not_found_now())?;
    let pull = shared
        .state
        .lock()
        .pull_mut(&repo.owner, &repo.name, number)
        .map(|p| p.clone())
        .ok_or_else(not_found_now)?;
    Ok((repo, pull))
}

async fn get_pull(
    State(shared): State<Arc<Shared>>,
    Path((owner, name, number)): Path<(String, String, String)>,
) -> Response {
    let (repo, pull) = match one_pull(&shared, &owner, &name, &number).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut pulls = [pull];
    refresh(&shared, &repo, &mut pulls).await;
    axum::Json(pull_json(&shared, &repo, &pulls[0])).into_response()
}

async fn reviews(
    State(shared): State<Arc<Shared>>,
    Path((owner, name, number)): Path<(String, String, String)>,
) -> Response {
    let (repo, pull) = match one_pull(&shared, &owner, &name, &number).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut state = shared.state.lock();
    let list: Vec<Value> = pull
        .reviews
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "user": {"login": r.login, "id": state.user_id(&r.login)},
                "body": "",
                "state": r.state,
                "html_url": format!("{}/{}/{}/pull/{}#pullrequestreview-{}",
                    shared.url, repo.owner, repo.name, pull.number, r.id),
                "commit_id": pull.head_sha,
                "submitted_at": r.submitted_at,
            })
        })
        .collect();
    axum::Json(list).into_response()
}

/// The commit `reference` (a sha or a branch) names, or GitHub's 422 for an unknown one.
async fn commit(repo: &RepoInfo, reference: &str) -> Result<String, Response> {
    git::resolve(&repo.path, reference).await.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("No commit found for SHA: {reference}"),
        )
    })
}

async fn combined_status(
    State(shared): State<Arc<Shared>>,
    Path((owner, name, reference)): Path<(String, String, String)>,
) -> Response {
    let repo = match find_repo(&shared, &owner, &name) {
        Ok(repo) => repo,
        Err(response) => return response,
    };
    let sha = match commit(&repo, &reference).await {
        Ok(sha) => sha,
        Err(response) => return response,
    };
    let statuses = shared
        .state
        .lock()
        .repo_mut(&repo.owner, &repo.name)
        .and_then(|r| r.statuses.get(&sha).cloned())
        .unwrap_or_default();
    // GitHub's rule: failure if any context failed or errored, pending if there are none or
    // one is pending, success otherwise.
    let state = if statuses
        .iter()
        .any(|s| s.state == "failure" || s.state == "error")
    {
        "failure"
    } else if statuses.is_empty() || statuses.iter().any(|s| s.state == "pending") {
        "pending"
    } else {
        "success"
    };
    let list: Vec<Value> = statuses
        .iter()
        .map(|s| {
            json!({
                "context": s.context,
                "state": s.state,
                "target_url": s.target_url,
                "description": Value::Null,
            })
        })
        .collect();
    axum::Json(json!({
        "state": state,
        "sha": sha,
        "total_count": list.len(),
        "statuses": list,
        "repository": {"full_name": format!("{}/{}", repo.owner, repo.name)},
    }))
    .into_response()
}

async fn check_runs(
    State(shared): State<Arc<Shared>>,
    Path((owner, name, reference)): Path<(String, String, String)>,
) -> Response {
    let repo = match find_repo(&shared, &owner, &name) {
        Ok(repo) => repo,
        Err(response) => return response,
    };
    let sha = match commit(&repo, &reference).await {
        Ok(sha) => sha,
        Err(response) => return response,
    };
    let runs = shared
        .state
        .lock()
        .repo_mut(&repo.owner, &repo.name)
        .and_then(|r| r.check_runs.get(&sha).cloned())
        .unwrap_or_default();
    let list: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "status": r.status,
                "conclusion": r.conclusion,
                "html_url": r.html_url,
                "details_url": r.html_url,
                "head_sha": sha,
            })
        })
        .collect();
    axum::Json(json!({"total_count": list.len(), "check_runs": list})).into_response()
}
