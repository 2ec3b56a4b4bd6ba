//! Git operations for Grove sessions: inspecting a repository, creating, checking, removing and
//! restoring the per-session worktrees, and deleting session branches.
//!
//! Everything goes through libgit2 (`git2`) except fetching: libgit2 is built here without
//! https/ssh transports, and the `git` CLI honours the user's credential helpers and ssh config,
//! so the one network operation shells out to `git fetch` through [`GitCommand`] (timeout, both
//! pipes drained, the whole process group killed on timeout).
//!
//! Safety rules this module keeps:
//! - it never touches the main checkout's working files;
//! - it never runs a repo-wide `git worktree prune` or `git gc` (and passes `--no-auto-gc` to
//!   fetch), so other tools' worktrees and Grove's own are never reaped behind the user's back;
//! - it only ever deletes directories strictly inside Grove's worktree root, refuses symlinked
//!   paths there, and deletes without following symlinks.
//!
//! Side effects worth knowing: creating a worktree turns off libgit2's per-object hash
//! re-verification for the whole process (git does not re-verify on checkout either), and
//! writes one fixed empty "seed" commit object into the repository (see
//! `add_locked_worktree`). Checkouts are done by libgit2, which runs no external filter
//! drivers: Git LFS files stay pointer files in Grove's worktrees.
//!
//! The module is split by concept:
//! - `error`: the one error type, [`GitError`];
//! - `repo`: opening and inspecting a repository, its branches and HEAD;
//! - `paths`: the one path-containment rule for Grove's worktree root;
//! - `names`: the one sanitizer for names that become folders and ref components;
//! - `cli`: the runner for the `git` binary, and the refusal of option-like operands;
//! - `base`: resolving a session's base, fetching its upstream first;
//! - `worktree`: creating, restoring and removing a session's worktree;
//! - `add`: adding a locked worktree quickly (the seed-branch trick);
//! - `removal`: what removal or branch deletion would lose (dirty, unpushed, unmerged);
//! - `status`: a worktree's uncommitted and untracked files;
//! - `changes`: what a session changed against its base or HEAD, and the diffs;
//! - `commit`: committing through the `git` CLI (hooks, signing, config apply);
//! - `revert`: reverting a file to the base, with the discarded content kept for undo;
//! - `summary`: a worktree's change counts, recounting only files that changed;
//! - `drift`: how a worktree on disk differs from what Grove recorded.

mod add;
mod base;
mod changes;
mod cli;
mod commit;
mod drift;
mod error;
mod names;
mod paths;
mod push;
mod removal;
mod repo;
mod revert;
mod status;
mod summary;
#[cfg(test)]
pub(crate) mod testing;
mod worktree;

pub use changes::{
    ChangeKind, DiffBody, FileChange, FileDiff, MAX_DIFF_BYTES, MAX_DIFF_LINES, Scope, changes,
    diffs,
};
pub use cli::{GitCommand, GitOutput};
pub use commit::{CommitRequest, commit};
pub use drift::{Drift, drift};
pub use error::GitError;
pub use names::sanitize_name;
pub use push::{PushOutcome, PushRequest, push, remote_url};
pub use removal::{RemovalCheck, branch_merged, check_removal, delete_branch};
pub use repo::{BranchInfo, RepoInfo, head_commit, inspect_repo, list_branches};
pub use revert::{Reverted, revert_file, revert_hunk, undo_revert};
pub use summary::{CountCache, Summary, summarize};
pub use worktree::{
    CreatedWorktree, NewWorktree, create_worktree, remove_worktree, restore_worktree,
};
