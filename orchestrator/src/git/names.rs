//! The one sanitizer for names that become folder names and git ref components: session slugs
//! (branch suffix and worktree folder), a repository's folder under the worktree root, and the
//! worktree's metadata name under `.git/worktrees/`.

/// Turns `raw` into a name safe as a folder name, a git ref component and a command-line
/// operand: ASCII letters, digits and `_` are kept, every run of anything else becomes one `-`,
/// and `-` is trimmed from both ends. `None` when nothing is left.
///
/// So the result never starts with `-` (no option lookalike) or `.`, never holds `..`, `/`,
/// spaces or other characters git refuses in a ref, and never ends in `.lock`. Case is kept:
/// callers that want a lowercase slug lowercase first.
pub fn sanitize_name(raw: &str) -> Option<String> {
    let mut name = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    while name.ends_with('-') {
        name.pop();
    }
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_names_are_safe_folders_and_ref_components() {
        assert_eq!(sanitize_name("Fix login bug!").unwrap(), "Fix-login-bug");
        assert_eq!(sanitize_name("  a/b..c  ").unwrap(), "a-b-c");
        assert_eq!(sanitize_name("my_repo.git").unwrap(), "my_repo-git");
        assert_eq!(sanitize_name("--upload-pack=x").unwrap(), "upload-pack-x");
        assert_eq!(sanitize_name(".hidden.lock").unwrap(), "hidden-lock");
        assert_eq!(sanitize_name("naïve café").unwrap(), "na-ve-caf");
        assert_eq!(sanitize_name("!!!"), None);
        assert_eq!(sanitize_name(""), None);
        for raw in ["a b", "-x-", "..", "x.lock", "a/../b", "é"] {
            if let Some(name) = sanitize_name(raw) {
                let refname = format!("refs/heads/{name}");
                assert!(
                    git2::Reference::is_valid_name(&refname) && !name.starts_with('-'),
                    "{raw:?} -> {name:?}"
                );
            }
        }
    }
}
