//! Drift: how a session's worktree on disk differs from what Grove recorded (gone, or on another
//! branch, or detached).

use std::path::Path;

use git2::Repository;

/// How a session's worktree differs from what Grove recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The worktree is where it should be, on the expected branch.
    None,
    /// The worktree folder, its `.git` file, or its metadata in the main repository is gone.
    Missing,
    /// The worktree is on another branch or detached.
    BranchChanged {
        /// The branch name, or `detached at <short sha>`.
        actual: String,
    },
}

/// Compares the worktree at `path` with the branch Grove expects it on.
pub fn drift(path: &Path, expected_branch: &str) -> Drift {
    if fs_err::symlink_metadata(path.join(".git")).is_err() {
        return Drift::Missing;
    }
    let Ok(repo) = Repository::open(path) else {
        return Drift::Missing;
    };
    let Ok(head) = repo.find_reference("HEAD") else {
        return Drift::Missing;
    };
    match head.symbolic_target().ok().flatten() {
        Some(target) => {
            let name = target.strip_prefix("refs/heads/").unwrap_or(target);
            if name == expected_branch {
                Drift::None
            } else {
                Drift::BranchChanged {
                    actual: name.to_string(),
                }
            }
        }
        None => {
            let sha = head.target().map(|o| o.to_string()).unwrap_or_default();
            Drift::BranchChanged {
                actual: format!("detached at {}", &sha[..sha.len().min(7)]),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::testing::{Fixture, git};

    #[test]
    fn drift_detects_branch_switch_and_detached_head() {
        let f = Fixture::new();
        let wt = f.create("drift", "grove/drift");
        git(&wt.path, &["switch", "-q", "-c", "other"]);
        assert_eq!(
            drift(&wt.path, "grove/drift"),
            Drift::BranchChanged {
                actual: "other".to_string()
            }
        );
        git(&wt.path, &["checkout", "-q", "--detach"]);
        let short = git(&wt.path, &["rev-parse", "--short=7", "HEAD"]);
        assert_eq!(
            drift(&wt.path, "grove/drift"),
            Drift::BranchChanged {
                actual: format!("detached at {short}")
            }
        );
        fs_err::remove_file(wt.path.join(".git")).unwrap();
        assert_eq!(drift(&wt.path, "grove/drift"), Drift::Missing);
    }
}
