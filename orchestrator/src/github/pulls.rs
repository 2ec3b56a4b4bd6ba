//! Pull requests: creating one (and finding the one that already exists for a branch), and
//! reading where it stands: state, review decision, and checks merged from the combined commit
//! status and the check runs.

use serde::Deserialize;

use super::client::{Answer, Http};
use super::remote::RepoRef;
use super::{Endpoints, GithubError};
use crate::vault::SecretString;
use crate::wire::{CheckItem, ChecksState, PullState, PullStatus, ReviewDecision};

#[derive(Debug, Deserialize)]
struct Pull {
    number: u64,
    html_url: String,
    title: String,
    state: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    merged: bool,
    merged_at: Option<String>,
    head: PullHead,
}

#[derive(Debug, Deserialize)]
struct PullHead {
    sha: String,
}

/// A new pull request.
pub struct NewPull<'a> {
    pub title: &'a str,
    pub body: &'a str,
    /// The branch on the repository (`grove/fix-login`).
    pub head: &'a str,
    pub base: &'a str,
    pub draft: bool,
}

/// What creating a pull request did.
pub enum Created {
    New(u64),
    /// One was already open for this branch.
    Existing(u64),
}

fn check_auth(ep: &Endpoints, a: &Answer) -> Result<(), GithubError> {
    if a.status == 401 {
        return Err(GithubError::TokenRejected { host: ep.host() });
    }
    Ok(())
}

/// Opens a pull request; an existing open one for the same branch is found and returned.
pub fn create(
    http: &Http,
    ep: &Endpoints,
    token: &SecretString,
    repo: &RepoRef,
    new: &NewPull<'_>,
) -> Result<Created, GithubError> {
    let url = ep.api_url(&format!("/repos/{}/pulls", repo.full_name()));
    let body = serde_json::json!({
        "title": new.title,
        "body": new.body,
        "head": new.head,
        "base": new.base,
        "draft": new.draft,
    });
    let a = http.post_json(&url, token, &body)?;
    check_auth(ep, &a)?;
    match a.status {
        201 => {
            let pull: Pull = a.json("the new pull request")?;
            Ok(Created::New(pull.number))
        }
        422 => {
            let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
            let message = v["message"].as_str().unwrap_or_default().to_owned();
            let errors = v["errors"].as_array().cloned().unwrap_or_default();
            let said = |needle: &str| {
                message.contains(needle)
                    || errors
                        .iter()
                        .any(|e| e["message"].as_str().unwrap_or_default().contains(needle))
            };
            if said("A pull request already exists for") {
                return match find_open(http, ep, token, repo, new.head)? {
                    Some(n) => Ok(Created::Existing(n)),
                    None => Err(GithubError::Pull(format!(
                        "GitHub says a pull request already exists for {}:{}, but Grove cannot find it: look on GitHub",
                        repo.owner, new.head
                    ))),
                };
            }
            if said("Draft pull requests are not supported") {
                return Err(GithubError::DraftUnsupported);
            }
            if said("No commits between") {
                return Err(GithubError::Pull(format!(
                    "{} has no commits that {} does not have: commit something first, then open the pull request",
                    new.head, new.base
                )));
            }
            let field_invalid = |field: &str| {
                errors.iter().any(|e| {
                    e["field"].as_str() == Some(field) && e["code"].as_str() == Some("invalid")
                })
            };
            if field_invalid("head") {
                return Err(GithubError::Pull(format!(
                    "GitHub does not know the branch {} in {}: push it first (`grove push`)",
                    new.head,
                    repo.full_name()
                )));
            }
            if field_invalid("base") {
                return Err(GithubError::Pull(format!(
                    "{} is not a branch of {} on GitHub: pick another base (--base)",
                    new.base,
                    repo.full_name()
                )));
            }
            Err(GithubError::Api {
                status: 422,
                message: if errors.is_empty() {
                    message
                } else {
                    format!("{message}: {}", serde_json::Value::Array(errors))
                },
            })
        }
        status => Err(GithubError::Api {
            status,
            message: a.message(),
        }),
    }
}

/// The open pull request whose head is `owner:branch`, if any.
pub fn find_open(
    http: &Http,
    ep: &Endpoints,
    token: &SecretString,
    repo: &RepoRef,
    branch: &str,
) -> Result<Option<u64>, GithubError> {
    let mut url = url::Url::parse(&ep.api_url(&format!("/repos/{}/pulls", repo.full_name())))
        .map_err(|e| GithubError::Config(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("head", &format!("{}:{branch}", repo.owner))
        .append_pair("state", "open");
    let a = http.get(url.as_str(), token)?;
    check_auth(ep, &a)?;
    if a.status != 200 {
        return Err(GithubError::Api {
            status: a.status,
            message: a.message(),
        });
    }
    let pulls: Vec<Pull> = a.json("the list of pull requests")?;
    Ok(pulls.first().map(|p| p.number))
}

/// Where pull request `number` stands now.
pub fn status(
    http: &Http,
    ep: &Endpoints,
    token: &SecretString,
    repo: &RepoRef,
    number: u64,
) -> Result<PullStatus, GithubError> {
    let base = format!("/repos/{}", repo.full_name());
    let get = |path: String| -> Result<Answer, GithubError> {
        let a = http.get(&ep.api_url(&path), token)?;
        check_auth(ep, &a)?;
        if a.status != 200 {
            return Err(GithubError::Api {
                status: a.status,
                message: format!("{path}: {}", a.message()),
            });
        }
        Ok(a)
    };
    let pull: Pull = get(format!("{base}/pulls/{number}"))?.json("the pull request")?;
    #[derive(Deserialize)]
    struct Review {
        user: Option<Login>,
        state: String,
    }
    #[derive(Deserialize)]
    struct Login {
        login: String,
    }
    let reviews: Vec<Review> = get(format!("{base}/pulls/{number}/reviews"))?.json("reviews")?;
    #[derive(Deserialize)]
    struct Combined {
        #[serde(default)]
        statuses: Vec<Status>,
    }
    #[derive(Deserialize)]
    struct Status {
        context: String,
        state: String,
        target_url: Option<String>,
    }
    #[derive(Deserialize)]
    struct Runs {
        #[serde(default)]
        check_runs: Vec<Run>,
    }
    #[derive(Deserialize)]
    struct Run {
        name: String,
        status: String,
        conclusion: Option<String>,
        html_url: Option<String>,
        details_url: Option<String>,
    }
    let sha = &pull.head.sha;
    let combined: Combined =
        get(format!("{base}/commits/{sha}/status"))?.json("the combined status")?;
    let runs: Runs = get(format!("{base}/commits/{sha}/check-runs"))?.json("the check runs")?;

    let mut checks: Vec<CheckItem> = combined
        .statuses
        .into_iter()
        .map(|s| CheckItem {
            state: match s.state.as_str() {
                "success" => ChecksState::Passing,
                "failure" | "error" => ChecksState::Failing,
                _ => ChecksState::Pending,
            },
            name: s.context,
            url: s.target_url,
        })
        .collect();
    checks.extend(runs.check_runs.into_iter().map(|r| CheckItem {
        state: match (r.status.as_str(), r.conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => ChecksState::Passing,
            ("completed", _) => ChecksState::Failing,
            _ => ChecksState::Pending,
        },
        name: r.name,
        url: r.html_url.or(r.details_url),
    }));
    checks.sort_by(|a, b| a.name.cmp(&b.name));
    let overall = if checks.is_empty() {
        ChecksState::None
    } else if checks.iter().any(|c| c.state == ChecksState::Failing) {
        ChecksState::Failing
    } else if checks.iter().any(|c| c.state == ChecksState::Pending) {
        ChecksState::Pending
    } else {
        ChecksState::Passing
    };

    // The latest decisive review per reviewer decides, as on GitHub.
    let mut latest: std::collections::BTreeMap<String, String> = Default::default();
    for r in reviews {
        if matches!(
            r.state.as_str(),
            "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
        ) {
            latest.insert(r.user.map(|u| u.login).unwrap_or_default(), r.state);
        }
    }
    let review = if latest.values().any(|s| s == "CHANGES_REQUESTED") {
        ReviewDecision::ChangesRequested
    } else if latest.values().any(|s| s == "APPROVED") {
        ReviewDecision::Approved
    } else {
        ReviewDecision::None
    };
    let state = if pull.merged || pull.merged_at.is_some() {
        PullState::Merged
    } else if pull.state == "closed" {
        PullState::Closed
    } else if pull.draft {
        PullState::Draft
    } else {
        PullState::Open
    };
    Ok(PullStatus {
        number: pull.number,
        url: pull.html_url,
        title: pull.title,
        repo: repo.full_name(),
        state,
        review,
        checks: overall,
        check_items: checks,
        head_sha: pull.head.sha,
        checked_at: crate::db::now_secs(),
    })
}
