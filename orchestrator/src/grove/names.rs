//! Names for new sessions the user did not name: the base branch and a word from a short list,
//! free in the repo, so that starting a session needs no typing.

use std::collections::HashSet;

use super::*;

/// Trees, since sessions grow in a grove; short, distinct and easy to say.
const WORDS: &[&str] = &[
    "alder", "aspen", "birch", "cedar", "elm", "fir", "hazel", "juniper", "larch", "linden",
    "maple", "oak", "pine", "rowan", "spruce", "willow", "yew", "beech", "cherry", "holly",
    "laurel", "olive", "poplar", "sequoia", "acacia", "cypress", "hemlock", "magnolia", "redwood",
    "sumac",
];

/// Longest base-branch part of a suggested name, so names stay readable in the sidebar.
const MAX_PREFIX: usize = 24;

impl Grove {
    /// A session name that no session of the repo has and whose branch does not exist yet:
    /// `<base>-<word>`, with `base` (default: the repo's current branch) shortened to its last
    /// path component (`origin/main` gives `main`).
    pub fn suggest_session_name(&self, repo_id: i64, base: Option<&str>) -> Result<String> {
        let repo = self.repo_row(repo_id)?;
        let branches = git::list_branches(&repo.path)?;
        let base = base
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .or_else(|| branches.iter().find(|b| b.head).map(|b| b.name.clone()));
        let prefix = base
            .as_deref()
            .and_then(|b| b.rsplit('/').next())
            .and_then(|b| git::sanitize_name(&b.to_ascii_lowercase()))
            .map(|p| p.chars().take(MAX_PREFIX).collect::<String>())
            .map(|p| p.trim_end_matches('-').to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "session".into());
        // A name is taken when its slug is: the slug is what becomes the branch and the folder.
        let mut taken: HashSet<String> = self
            .db()
            .sessions()?
            .iter()
            .filter(|s| s.repo_id == repo.id)
            .filter_map(|s| git::sanitize_name(&s.name.to_ascii_lowercase()))
            .collect();
        let branch_prefix = &self.inner.config.branch_prefix;
        taken.extend(
            branches
                .iter()
                .filter(|b| !b.remote)
                .filter_map(|b| b.name.strip_prefix(branch_prefix.as_str()))
                .map(str::to_ascii_lowercase),
        );
        // A random starting word, so two users of one repo do not race for the same name.
        let start = getrandom::u32().unwrap_or(0) as usize;
        Ok(pick_name(&prefix, start, |name| !taken.contains(name)))
    }
}

/// The first free `<prefix>-<word>` going round the list from `start`, then the same with
/// `-2`, `-3`… appended.
fn pick_name(prefix: &str, start: usize, free: impl Fn(&str) -> bool) -> String {
    let mut round = 1usize;
    loop {
        for i in 0..WORDS.len() {
            let word = WORDS[(start + i) % WORDS.len()];
            let name = match round {
                1 => format!("{prefix}-{word}"),
                n => format!("{prefix}-{word}-{n}"),
            };
            if free(&name) {
                return name;
            }
        }
        round += 1;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_go_round_the_words_then_count() {
        assert_eq!(pick_name("main", 0, |_| true), "main-alder");
        assert_eq!(pick_name("main", 1, |n| n != "main-aspen"), "main-birch");
        let all: HashSet<String> = WORDS.iter().map(|w| format!("dev-{w}")).collect();
        assert_eq!(pick_name("dev", 3, |n| !all.contains(n)), "dev-cedar-2");
    }
}
