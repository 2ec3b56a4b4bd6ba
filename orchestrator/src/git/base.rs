//! What a new worktree starts from: resolving the base (a branch, remote branch, tag or commit;
//! by default HEAD's branch) and, for a local branch with an upstream, fetching that upstream
//! first with the `git` CLI so the session starts from the freshest commit we can know of.

use std::path::Path;
use std::time::Duration;

use git2::{Oid, Repository};

use super::cli::{GitCommand, refuse_option_like};
use super::error::{GitError, plural};
use super::repo::head_branch;

/// How long the pre-creation `git fetch` of the base's upstream may take before we give up on it
/// (and create the worktree from what we already have).
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// A base resolved to a commit.
pub(super) struct ResolvedBase {
    /// The base as the user named it, or the full sha when it was given as a commit.
    pub(super) name: String,
    /// The commit to start from.
    pub(super) commit: Oid,
    /// Non-fatal problems worth showing, e.g. a failed fetch.
    pub(super) warnings: Vec<String>,
}

/// Resolves the base (default: HEAD's branch), fetching a local branch's upstream first.
///
/// A base, upstream remote or upstream branch that starts with `-` is refused with
/// [`GitError::OptionLike`] before anything runs: git never names a branch that way, so such a
/// value is a mistake or an attack (a remote configured as `--upload-pack=<command>`).
pub(super) fn resolve_base(
    repo: &Repository,
    repo_path: &Path,
    base: Option<&str>,
) -> Result<ResolvedBase, GitError> {
    let name = match base {
        Some(b) => b.to_string(),
        None => match head_branch(repo, repo_path)? {
            Some(b) => b,
            None => {
                return Err(GitError::DetachedBase {
                    path: repo_path.to_path_buf(),
                });
            }
        },
    };
    refuse_option_like("base", &name)?;
    let not_found = || GitError::RefNotFound {
        reference: name.clone(),
    };
    let peel = |refname: &str| -> Option<Oid> {
        repo.find_reference(refname)
            .ok()?
            .peel_to_commit()
            .ok()
            .map(|c| c.id())
    };

    let local_ref = format!("refs/heads/{name}");
    if let Some(local) = peel(&local_ref) {
        let mut warnings = Vec::new();
        let commit = match fetch_upstream(repo, repo_path, &local_ref, &mut warnings)? {
            Some(upstream_ref) => {
                // The CLI just updated the ref on disk; read it fresh.
                match Repository::open(repo_path).ok().and_then(|fresh| {
                    let oid = fresh
                        .find_reference(&upstream_ref)
                        .ok()?
                        .peel_to_commit()
                        .ok()?
                        .id();
                    let ab = fresh.graph_ahead_behind(local, oid).ok()?;
                    Some((oid, ab))
                }) {
                    Some((upstream, (0, behind))) if behind > 0 => {
                        let short = upstream_ref
                            .strip_prefix("refs/remotes/")
                            .unwrap_or(&upstream_ref);
                        warnings.push(format!(
                            "based on {short} which is {} ahead of {name}",
                            plural(behind, "commit", "commits")
                        ));
                        upstream
                    }
                    Some((_, (ahead, behind))) if ahead > 0 && behind > 0 => {
                        let short = upstream_ref
                            .strip_prefix("refs/remotes/")
                            .unwrap_or(&upstream_ref);
                        warnings.push(format!(
                            "{name} has diverged from {short} ({ahead} ahead, {behind} behind); \
                             based on the local {name}"
                        ));
                        local
                    }
                    _ => local,
                }
            }
            None => local,
        };
        return Ok(ResolvedBase {
            name,
            commit,
            warnings,
        });
    }
    for refname in [format!("refs/remotes/{name}"), format!("refs/tags/{name}")] {
        if let Some(commit) = peel(&refname) {
            return Ok(ResolvedBase {
                name,
                commit,
                warnings: Vec::new(),
            });
        }
    }
    let commit = repo
        .revparse_single(&name)
        .ok()
        .and_then(|o| o.peel_to_commit().ok())
        .ok_or_else(not_found)?;
    Ok(ResolvedBase {
        name: commit.id().to_string(),
        commit: commit.id(),
        warnings: Vec::new(),
    })
}

/// Fetches the upstream of `local_ref` with the `git` CLI. Returns the upstream's
/// remote-tracking ref name when there is one (fetched or not), pushing a failed fetch into
/// `warnings`. An upstream remote or branch that starts with `-` is an error, before the fetch.
fn fetch_upstream(
    repo: &Repository,
    repo_path: &Path,
    local_ref: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<String>, GitError> {
    let upstream = || {
        let remote = repo.branch_upstream_remote(local_ref).ok()?;
        let merge = repo.branch_upstream_merge(local_ref).ok()?;
        let upstream = repo.branch_upstream_name(local_ref).ok()?;
        Some((
            remote.as_str().ok()?.to_string(),
            merge.as_str().ok()?.to_string(),
            upstream.as_str().ok()?.to_string(),
        ))
    };
    let Some((remote, merge, upstream)) = upstream() else {
        return Ok(None);
    };
    if remote == "." {
        // The upstream is another local branch: nothing to fetch.
        return Ok(Some(upstream));
    }
    let branch = local_ref.strip_prefix("refs/heads/").unwrap_or(local_ref);
    if let Err(why) = fetch_command(repo_path, &remote, &merge)?.run() {
        warnings.push(format!(
            "could not fetch {remote} before branching from {branch} ({why}); \
             using the last fetched state"
        ));
    }
    Ok(Some(upstream))
}

/// `git fetch` of one branch of one remote, for the base's upstream:
/// - `--no-auto-gc`: an auto gc could prune worktrees repo-wide, which Grove never does;
/// - `--no-recurse-submodules`: only the base's own history is wanted, and a submodule's
///   config is one more place an attacker could plant a command;
/// - the remote and refspec come from the repository's config, so they go after
///   `--end-of-options` and are refused if they start with `-` ([`GitCommand::operands`]).
fn fetch_command(repo_path: &Path, remote: &str, refspec: &str) -> Result<GitCommand, GitError> {
    Ok(GitCommand::new(repo_path)
        .args([
            "fetch",
            "--quiet",
            "--no-auto-gc",
            "--no-recurse-submodules",
        ])
        .operands(&[("remote", remote), ("refspec", refspec)])?
        .timeout(FETCH_TIMEOUT))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::testing::{Fixture, commit_file, git};
    use crate::git::{CreatedWorktree, GitError, create_worktree};

    #[test]
    fn create_fetches_the_base_upstream_first() {
        let f = Fixture::new();
        let origin = f.add_origin();
        let other = f.tmp.path().join("other");
        git(
            f.tmp.path(),
            &["clone", "-q", origin.to_str().unwrap(), "other"],
        );
        let upstream_tip = commit_file(&other, "from-origin.txt", "new\n");
        git(&other, &["push", "-q", "origin", "main"]);
        let local_main = git(&f.repo, &["rev-parse", "main"]);

        let wt = f.create("fetched", "grove/fetched");
        assert!(wt.path.join("from-origin.txt").exists());
        assert_eq!(wt.base, "main");
        assert_eq!(wt.base_commit, upstream_tip);
        assert_eq!(
            wt.warnings,
            ["based on origin/main which is 1 commit ahead of main"]
        );
        // The fetch updated the remote-tracking branch but not the user's own main.
        assert_eq!(git(&f.repo, &["rev-parse", "origin/main"]), upstream_tip);
        assert_eq!(git(&f.repo, &["rev-parse", "main"]), local_main);
        assert!(!f.repo.join("from-origin.txt").exists());

        // Diverged: the local branch wins, with a warning.
        commit_file(&f.repo, "local.txt", "local\n");
        let wt = f.create("diverged", "grove/diverged");
        assert!(wt.path.join("local.txt").exists() && !wt.path.join("from-origin.txt").exists());
        assert_eq!(wt.warnings.len(), 1, "{:?}", wt.warnings);
        assert!(wt.warnings[0].contains("diverged"), "{:?}", wt.warnings);
    }

    #[test]
    fn unreachable_upstream_only_warns() {
        let f = Fixture::new();
        f.add_origin();
        let gone = f.tmp.path().join("no-such-remote.git");
        git(
            &f.repo,
            &["remote", "set-url", "origin", gone.to_str().unwrap()],
        );
        let wt = f.create("offline", "grove/offline");
        assert_eq!(wt.base_commit, git(&f.repo, &["rev-parse", "main"]));
        assert_eq!(wt.warnings.len(), 1, "{:?}", wt.warnings);
        assert!(
            wt.warnings[0].starts_with("could not fetch origin"),
            "{:?}",
            wt.warnings
        );
    }

    #[test]
    fn fetch_argv_ends_options_before_the_remote() {
        let cmd = fetch_command(Path::new("."), "origin", "refs/heads/main").unwrap();
        assert_eq!(
            cmd.argv(),
            [
                "fetch",
                "--quiet",
                "--no-auto-gc",
                "--no-recurse-submodules",
                "--end-of-options",
                "origin",
                "refs/heads/main"
            ]
        );
    }

    /// Points `main`'s upstream at `merge` on a remote called `remote` (with origin's URL) and
    /// tries to create a worktree from `main`.
    fn create_with_upstream(
        f: &Fixture,
        remote: &str,
        merge: &str,
    ) -> Result<CreatedWorktree, GitError> {
        let origin = f.add_origin();
        git(
            &f.repo,
            &[
                "config",
                &format!("remote.{remote}.url"),
                origin.to_str().unwrap(),
            ],
        );
        git(
            &f.repo,
            &[
                "config",
                "--add",
                &format!("remote.{remote}.fetch"),
                &format!("+refs/heads/*:refs/remotes/{remote}/*"),
            ],
        );
        git(&f.repo, &["config", "branch.main.remote", remote]);
        git(&f.repo, &["config", "branch.main.merge", merge]);
        create_worktree(&f.opts(&f.wt_path("evil"), "grove/evil"))
    }

    #[test]
    fn an_upstream_remote_named_like_an_option_is_refused() {
        let f = Fixture::new();
        let err = create_with_upstream(&f, "-oops", "refs/heads/main").unwrap_err();
        assert!(
            matches!(&err, GitError::OptionLike { what, value }
                if what == "remote" && value == "-oops"),
            "{err:?}"
        );
        assert!(err.to_string().contains("`-oops`"), "{err}");
        assert!(git(&f.repo, &["branch", "--list", "grove/evil"]).is_empty());
        assert!(fs_err::symlink_metadata(f.wt_path("evil")).is_err());
    }

    #[test]
    fn an_upload_pack_remote_never_runs_its_command() {
        // Without the refusal, `git fetch --upload-pack=touch${IFS}pwned refs/heads/main` runs
        // `touch pwned` through the shell, in the repository's folder.
        let f = Fixture::new();
        let remote = "--upload-pack=touch${IFS}pwned";
        let created = create_with_upstream(&f, remote, "refs/heads/main");
        assert!(!f.repo.join("pwned").exists(), "the remote's command ran");
        let err = created.unwrap_err();
        assert!(
            matches!(&err, GitError::OptionLike { what, value }
                if what == "remote" && value == remote),
            "{err:?}"
        );
    }

    #[test]
    fn a_base_named_like_an_option_is_refused() {
        let f = Fixture::new();
        let path = f.wt_path("evil");
        let mut opts = f.opts(&path, "grove/evil");
        opts.base = Some("--upload-pack=touch${IFS}pwned");
        let err = create_worktree(&opts).unwrap_err();
        assert!(
            matches!(&err, GitError::OptionLike { what, .. } if what == "base"),
            "{err:?}"
        );
        assert!(!f.repo.join("pwned").exists());
        assert!(git(&f.repo, &["branch", "--list", "grove/evil"]).is_empty());
    }
}
