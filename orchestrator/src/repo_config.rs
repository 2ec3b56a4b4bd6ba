//! Per-repository settings from `grove.toml` at the repository root, committed by users:
//!
//! ```toml
//! setup = ["npm ci", "cp .env.example .env"]  # run in the new worktree's first terminal
//! copy = [".env", "config/*.local.json"]       # untracked/ignored files copied into new worktrees
//! agent = "claude"                             # default agent command
//! [env]
//! FOO = "bar"                                  # extra env for the session's terminals
//! ```
//!
//! and copying the `copy` files from the main checkout into a new worktree.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

/// The file name Grove reads at the repository root.
pub const FILE_NAME: &str = "grove.toml";

/// What a repository's `grove.toml` asks of Grove. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    /// Shell commands run, in order, in a new worktree's first terminal before the agent starts.
    #[serde(default)]
    pub setup: Vec<String>,
    /// Globs of untracked or ignored files to copy from the main checkout into a new worktree
    /// (see [`copy_into`] for how they match).
    #[serde(default)]
    pub copy: Vec<String>,
    /// The agent command sessions of this repository start by default.
    #[serde(default)]
    pub agent: Option<String>,
    /// Extra environment variables for the session's terminals.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Errors reading `grove.toml` or copying its files. Each names the file or pattern at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `grove.toml` is not valid TOML or does not match [`RepoConfig`].
    #[error("{}:{line}:{column}: {message}; fix the file and try again", path.display())]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What is wrong, from the TOML parser.
        message: String,
    },
    /// A `copy` pattern is not a valid glob.
    #[error("invalid copy pattern `{pattern}` in grove.toml: {message}; fix the pattern")]
    BadGlob {
        /// The pattern as written.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// An `[env]` key that no environment can hold (empty, or with `=` or NUL in it).
    #[error("{}: `{key}` in [env] is not a valid environment variable name; fix the file", path.display())]
    BadEnvKey {
        /// The config file.
        path: PathBuf,
        /// The key as written.
        key: String,
    },
    /// The main checkout's HEAD commit (where Grove reads `grove.toml`) could not be read.
    #[error("could not read grove.toml from the HEAD commit of {}: {message}", repo.display())]
    Head {
        /// The main checkout.
        repo: PathBuf,
        /// What git said.
        message: String,
    },
    /// A `copy` match is a symbolic link leading outside the repository: copying it would copy
    /// whatever it points to (`~/.ssh/id_ed25519`, `/proc/self/environ`) into the worktree.
    #[error("`{}` (matched by copy in grove.toml) is a symbolic link to {}, outside the repository: Grove does not copy it. Remove the link or the pattern", file.display(), target.display())]
    LinkOutside {
        /// The link, relative to the repository root.
        file: PathBuf,
        /// Where it resolves to.
        target: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder at fault.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads `grove.toml` as committed in the HEAD commit of the main checkout at `repo_root`: never
/// the working tree (uncommitted edits, or files an agent wrote) and never a session branch, so
/// what the user approved is what runs. `None` when HEAD has no `grove.toml` (or no commit yet).
pub fn load_head(repo_root: &Path) -> Result<Option<RepoConfig>, ConfigError> {
    let path = repo_root.join(FILE_NAME);
    let head_err = |e: git2::Error| ConfigError::Head {
        repo: repo_root.to_path_buf(),
        message: e.message().to_owned(),
    };
    let repo = git2::Repository::open(repo_root).map_err(head_err)?;
    let tree = match repo.head().and_then(|h| h.peel_to_tree()) {
        Ok(tree) => tree,
        // An unborn HEAD has no commit, so no committed config.
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => return Ok(None),
        Err(e) => return Err(head_err(e)),
    };
    let entry = match tree.get_path(Path::new(FILE_NAME)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(head_err(e)),
    };
    let blob = entry
        .to_object(&repo)
        .and_then(|o| o.peel_to_blob())
        .map_err(head_err)?;
    let text = std::str::from_utf8(blob.content()).map_err(|_| ConfigError::Invalid {
        path: path.clone(),
        line: 1,
        column: 1,
        message: "the file is not UTF-8".into(),
    })?;
    parse(&path, text).map(Some)
}

/// Parses the text of a `grove.toml` (`path` only names it in errors) and checks its `env` keys.
pub fn parse(path: &Path, text: &str) -> Result<RepoConfig, ConfigError> {
    let config: RepoConfig = toml::from_str(text).map_err(|e| {
        let (line, column) = line_column(text, e.span().map_or(0, |s| s.start));
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim_end().to_string(),
        }
    })?;
    if let Some(key) = config
        .env
        .keys()
        .find(|k| k.is_empty() || k.contains(['=', '\0']))
    {
        return Err(ConfigError::BadEnvKey {
            path: path.to_path_buf(),
            key: key.clone(),
        });
    }
    Ok(config)
}

/// 1-based line and character column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// One `copy` pattern, also split per path component so the walk can skip folders that cannot
/// hold a match.
struct Pattern {
    /// One matcher per `/`-separated component; `None` for `**`.
    components: Vec<Option<GlobMatcher>>,
}

impl Pattern {
    /// Whether a folder at `rel` (relative, `/`-separated components) could contain a match.
    fn may_contain(&self, rel: &[&str]) -> bool {
        for (i, part) in rel.iter().enumerate() {
            match self.components.get(i) {
                Some(None) => return true,
                Some(Some(m)) if i + 1 < self.components.len() && m.is_match(part) => {}
                _ => return false,
            }
        }
        rel.len() < self.components.len()
    }
}

fn glob(component: &str) -> Option<GlobMatcher> {
    GlobBuilder::new(component)
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// Copies the files matching `globs` from the main checkout at `repo_root` into the same
/// relative paths in `worktree`, and returns the relative paths it copied.
///
/// Matching: patterns are relative to the repository root and use `/`; `*` and `?` never match
/// `/`, so a pattern without `/` (like `.env`) matches at the repository root only; use
/// `**/.env` for every folder. A leading `/` or `./` is ignored. A pattern that matches a folder
/// copies every file under it.
///
/// Safety: `.git` is skipped, symlinked folders are never entered, a symlinked file is copied as
/// the file it points to only when that file is inside the repository (a link out of it is
/// refused and reported). A file that already exists in the worktree (tracked files
/// are already there) is left alone. Nothing is written outside `worktree`: a destination whose
/// folder in the worktree is a symlink is skipped with a warning. File modes are kept (a 0600
/// `.env` stays 0600, executables stay executable).
pub fn copy_into(
    repo_root: &Path,
    worktree: &Path,
    globs: &[String],
) -> Result<Copied, ConfigError> {
    let mut set = GlobSetBuilder::new();
    let mut patterns = Vec::new();
    for original in globs {
        let trimmed = original.trim_start_matches("./").trim_start_matches('/');
        set.add(
            GlobBuilder::new(trimmed)
                .literal_separator(true)
                .build()
                .map_err(|e| ConfigError::BadGlob {
                    pattern: original.clone(),
                    message: e.kind().to_string(),
                })?,
        );
        // A pattern whose components do not compile on their own (e.g. `{a/b,c}`) cannot
        // prune the walk: treat it as possibly matching anywhere.
        let components = trimmed
            .split('/')
            .map(|c| {
                if c == "**" {
                    Some(None)
                } else {
                    glob(c).map(Some)
                }
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_else(|| vec![None]);
        patterns.push(Pattern { components });
    }
    let set = set.build().map_err(|e| ConfigError::BadGlob {
        pattern: globs.join(", "),
        message: e.to_string(),
    })?;
    if globs.is_empty() {
        return Ok(Copied::default());
    }
    let mut copier = Copier {
        repo_root,
        worktree,
        set,
        patterns,
        copied: Vec::new(),
        refused: Vec::new(),
    };
    copier.walk(Path::new(""), false)?;
    Ok(Copied {
        files: copier.copied,
        refused: copier.refused,
    })
}

/// What [`copy_into`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// The files copied, relative to the repository root.
    pub files: Vec<PathBuf>,
    /// Why each refused match was refused (links out of the repository), for the user to read.
    pub refused: Vec<String>,
}

struct Copier<'a> {
    repo_root: &'a Path,
    worktree: &'a Path,
    set: GlobSet,
    patterns: Vec<Pattern>,
    copied: Vec<PathBuf>,
    refused: Vec<String>,
}

impl Copier<'_> {
    /// Walks the main checkout's folder `rel`; `all` means a parent folder matched a pattern.
    fn walk(&mut self, rel: &Path, all: bool) -> Result<(), ConfigError> {
        let dir = self.repo_root.join(rel);
        let mut entries = fs_err::read_dir(&dir)
            .map_err(io_err(&dir))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_err(&dir))?;
        // Sorted so the returned list (and any error) is deterministic.
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            if name == ".git" {
                continue;
            }
            let child = rel.join(&name);
            let file_type = entry.file_type().map_err(io_err(&entry.path()))?;
            if file_type.is_dir() {
                let matched = all || self.set.is_match(&child);
                if matched || self.may_contain(&child) {
                    self.walk(&child, matched)?;
                }
                continue;
            }
            if !(all || self.set.is_match(&child)) {
                continue;
            }
            if file_type.is_symlink() {
                // Copy what a file link points to, only when that stays inside the repository
                // (outside its .git); never enter a linked folder. A link out of the repository
                // is how a hostile repo would have Grove copy `~/.ssh/id_ed25519` or
                // `/proc/self/environ` into a worktree its agent reads.
                match fs_err::metadata(entry.path()) {
                    Ok(meta) if meta.is_file() => {}
                    _ => continue,
                }
                let target = fs_err::canonicalize(entry.path()).map_err(io_err(&entry.path()))?;
                if !self.inside_repo(&target) {
                    let refused = ConfigError::LinkOutside {
                        file: child.clone(),
                        target,
                    };
                    tracing::warn!(%refused, "copy refused");
                    self.refused.push(refused.to_string());
                    continue;
                }
            } else if !file_type.is_file() {
                continue;
            }
            if self.copy_file(&child)? {
                self.copied.push(child);
            }
        }
        Ok(())
    }

    /// Whether a resolved path lies inside the repository and outside its `.git`.
    fn inside_repo(&self, target: &Path) -> bool {
        match fs_err::canonicalize(self.repo_root) {
            Ok(root) => target.starts_with(&root) && !target.starts_with(root.join(".git")),
            Err(_) => false,
        }
    }

    fn may_contain(&self, rel: &Path) -> bool {
        let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
        if parts.len() != rel.iter().count() {
            // Non-UTF-8 folder names: let the full matcher decide on each file.
            return true;
        }
        self.patterns.iter().any(|p| p.may_contain(&parts))
    }

    /// Copies one file; `false` if skipped because it (or a symlink) is already there.
    fn copy_file(&self, rel: &Path) -> Result<bool, ConfigError> {
        let src = self.repo_root.join(rel);
        let dst = self.worktree.join(rel);
        // Create missing folders one by one, refusing to pass through a symlink: it could lead
        // outside the worktree.
        let mut dir = self.worktree.to_path_buf();
        if let Some(parent) = rel.parent() {
            for part in parent.iter() {
                dir.push(part);
                match fs_err::symlink_metadata(&dir) {
                    Ok(meta) if meta.file_type().is_symlink() || !meta.is_dir() => {
                        tracing::warn!(
                            file = %rel.display(),
                            folder = %dir.display(),
                            "not copying: its folder in the worktree is a symlink or a file"
                        );
                        return Ok(false);
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        fs_err::create_dir(&dir).map_err(io_err(&dir))?;
                    }
                    Err(e) => return Err(io_err(&dir)(e)),
                }
            }
        }
        let mut input = fs_err::File::open(&src).map_err(io_err(&src))?;
        let meta = input.metadata().map_err(io_err(&src))?;
        let mut options = fs_err::OpenOptions::new();
        // create_new: never overwrite (tracked files are already there), and never follow a
        // symlink sitting at the destination.
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use fs_err::os::unix::fs::OpenOptionsExt;
            use std::os::unix::fs::PermissionsExt;
            // Created with the source's mode so a secret is never briefly world-readable.
            options.mode(meta.permissions().mode() & 0o7777);
        }
        let mut output = match options.open(&dst) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(io_err(&dst)(e)),
        };
        std::io::copy(&mut input, &mut output).map_err(io_err(&dst))?;
        output.flush().map_err(io_err(&dst))?;
        // The umask may have dropped bits at creation: set the exact mode.
        output
            .set_permissions(meta.permissions())
            .map_err(io_err(&dst))?;
        Ok(true)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;
    use tempfile::TempDir;

    fn write(path: &Path, text: &str) {
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    }

    #[cfg(unix)]
    fn write_mode(path: &Path, text: &str, mode: u32) {
        write(path, text);
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        fs_err::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// The working tree's `grove.toml`, parsed as Grove would parse the committed one.
    fn load(root: &Path) -> Result<RepoConfig, ConfigError> {
        let path = root.join(FILE_NAME);
        match fs_err::read_to_string(&path) {
            Ok(text) => parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RepoConfig::default()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn paths(items: &[&str]) -> Vec<PathBuf> {
        items.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn missing_file_is_the_default() {
        let tmp = TempDir::new().unwrap();
        assert_eq!(load(tmp.path()).unwrap(), RepoConfig::default());
    }

    #[test]
    fn full_file_parses() {
        let tmp = TempDir::new().unwrap();
        write(
            &tmp.path().join(FILE_NAME),
            r#"
setup = ["npm ci", "cp .env.example .env"]
copy = [".env", "config/*.local.json"]
agent = "claude"

[env]
FOO = "bar"
RUST_LOG = "debug"
"#,
        );
        let config = load(tmp.path()).unwrap();
        assert_eq!(
            config,
            RepoConfig {
                setup: strings(&["npm ci", "cp .env.example .env"]),
                copy: strings(&[".env", "config/*.local.json"]),
                agent: Some("claude".to_string()),
                env: [("FOO", "bar"), ("RUST_LOG", "debug")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }
        );
        write(&tmp.path().join(FILE_NAME), "agent = \"codex\"\n");
        let partial = load(tmp.path()).unwrap();
        assert_eq!(partial.agent.as_deref(), Some("codex"));
        assert!(partial.setup.is_empty() && partial.copy.is_empty() && partial.env.is_empty());
    }

    #[test]
    fn malformed_file_reports_line_and_column() {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join(FILE_NAME);
        write(&path, "agent = \"claude\"\n\nsetup = \"npm ci\"\n");
        let err = load(tmp.path()).unwrap_err();
        match &err {
            ConfigError::Invalid {
                line,
                column,
                message,
                ..
            } => {
                assert_eq!((*line, *column), (3, 9));
                assert!(message.starts_with("invalid type: string"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("{}:3:9: invalid type", path.display())),
            "{text}"
        );
        assert!(text.ends_with("; fix the file and try again"), "{text}");

        // Columns count characters, not bytes.
        write(&path, "# note\nsetup = [\"é\",, ]\n");
        match load(tmp.path()).unwrap_err() {
            ConfigError::Invalid { line, column, .. } => assert_eq!((line, column), (2, 14)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_key_is_rejected() {
        let tmp = TempDir::new().unwrap();
        write(
            &tmp.path().join(FILE_NAME),
            "agent = \"claude\"\nsetpu = []\n",
        );
        match load(tmp.path()).unwrap_err() {
            ConfigError::Invalid {
                line,
                column,
                message,
                ..
            } => {
                assert_eq!((line, column), (2, 1));
                assert!(message.contains("unknown field `setpu`"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn git(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn load_head_reads_the_committed_file_only() {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path();
        git(root, &["init", "-q", "-b", "main"]);
        // No commit yet: nothing committed, even with a file on disk.
        write(&root.join(FILE_NAME), "agent = \"on-disk\"\n");
        assert_eq!(load_head(root).unwrap(), None);
        git(root, &["add", FILE_NAME]);
        git(root, &["commit", "-q", "-m", "config"]);
        assert_eq!(
            load_head(root).unwrap().unwrap().agent.as_deref(),
            Some("on-disk")
        );
        // Uncommitted edits (an agent's, or anyone's) do not count.
        write(&root.join(FILE_NAME), "agent = \"edited\"\n");
        assert_eq!(
            load_head(root).unwrap().unwrap().agent.as_deref(),
            Some("on-disk")
        );
        // Neither does another branch.
        git(root, &["checkout", "-q", "-b", "other"]);
        git(root, &["commit", "-q", "-am", "edited"]);
        git(root, &["checkout", "-q", "main"]);
        assert_eq!(
            load_head(root).unwrap().unwrap().agent.as_deref(),
            Some("on-disk")
        );
        git(root, &["rm", "-q", FILE_NAME]);
        git(root, &["commit", "-q", "-m", "gone"]);
        assert_eq!(load_head(root).unwrap(), None);
    }

    #[test]
    fn env_keys_that_no_environment_holds_are_refused() {
        let err = parse(Path::new("grove.toml"), "[env]\n\"A=B\" = \"x\"\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::BadEnvKey { key, .. } if key == "A=B"),
            "{err}"
        );
    }

    struct Trees {
        _tmp: TempDir,
        main: PathBuf,
        wt: PathBuf,
        #[cfg_attr(not(unix), allow(dead_code))]
        outside: PathBuf,
    }

    fn trees() -> Trees {
        let tmp = TempDir::new().unwrap();
        let main = tmp.path().join("main");
        let wt = tmp.path().join("wt");
        let outside = tmp.path().join("outside");
        fs_err::create_dir_all(&main).unwrap();
        fs_err::create_dir_all(&wt).unwrap();
        fs_err::create_dir_all(&outside).unwrap();
        Trees {
            _tmp: tmp,
            main,
            wt,
            outside,
        }
    }

    #[cfg(unix)]
    #[test]
    fn copy_keeps_modes_and_matches_root_only_without_slash() {
        let t = trees();
        write_mode(&t.main.join(".env"), "SECRET=1\n", 0o600);
        write_mode(&t.main.join("bin/tool.sh"), "#!/bin/sh\n", 0o755);
        write(&t.main.join("sub/.env"), "not at root\n");
        write(&t.main.join("config/app.local.json"), "{}\n");
        write(&t.main.join("config/app.json"), "{}\n");
        write(&t.main.join("config/deep/x.local.json"), "{}\n");
        let globs = strings(&[".env", "bin/*.sh", "config/*.local.json"]);
        let copied = copy_into(&t.main, &t.wt, &globs).unwrap().files;
        assert_eq!(
            copied,
            paths(&[".env", "bin/tool.sh", "config/app.local.json"])
        );
        assert_eq!(mode(&t.wt.join(".env")), 0o600);
        assert_eq!(mode(&t.wt.join("bin/tool.sh")), 0o755);
        assert_eq!(
            fs_err::read_to_string(t.wt.join(".env")).unwrap(),
            "SECRET=1\n"
        );
        assert!(!t.wt.join("sub/.env").exists());
        assert!(!t.wt.join("config/deep").exists());

        let copied = copy_into(&t.main, &t.wt, &strings(&["**/.env", "/config/**"]))
            .unwrap()
            .files;
        assert_eq!(
            copied,
            paths(&["config/app.json", "config/deep/x.local.json", "sub/.env"])
        );
    }

    #[test]
    fn copy_skips_existing_files_and_git_folder() {
        let t = trees();
        write(&t.main.join(".env"), "main\n");
        write(&t.main.join(".git/config"), "[core]\n");
        write(&t.main.join("notes.txt"), "main\n");
        write(&t.wt.join(".env"), "worktree\n");
        let copied = copy_into(&t.main, &t.wt, &strings(&["*", ".git/*", "**/config"]))
            .unwrap()
            .files;
        assert_eq!(copied, paths(&["notes.txt"]));
        assert_eq!(
            fs_err::read_to_string(t.wt.join(".env")).unwrap(),
            "worktree\n"
        );
        assert!(!t.wt.join(".git").exists());
    }

    #[test]
    fn copy_copies_matched_folders_whole() {
        let t = trees();
        write(&t.main.join(".vscode/settings.json"), "{}\n");
        write(&t.main.join(".vscode/sub/x.json"), "{}\n");
        let copied = copy_into(&t.main, &t.wt, &strings(&[".vscode"]))
            .unwrap()
            .files;
        assert_eq!(
            copied,
            paths(&[".vscode/settings.json", ".vscode/sub/x.json"])
        );
    }

    #[cfg(unix)]
    #[test]
    fn copy_does_not_follow_symlinked_folders_or_write_outside() {
        let t = trees();
        write(&t.outside.join("secret.env"), "outside\n");
        std::os::unix::fs::symlink(&t.outside, t.main.join("linked")).unwrap();
        // A symlinked file that leads out of the repository is refused, never copied as its
        // target; one that stays inside is copied as the file it points to.
        std::os::unix::fs::symlink(t.outside.join("secret.env"), t.main.join("file.env")).unwrap();
        write(&t.main.join("real.txt"), "inside\n");
        std::os::unix::fs::symlink(t.main.join("real.txt"), t.main.join("inner.env")).unwrap();
        let copied = copy_into(&t.main, &t.wt, &strings(&["**/*.env", "linked"])).unwrap();
        assert_eq!(copied.files, paths(&["inner.env"]));
        assert_eq!(copied.refused.len(), 1, "{:?}", copied.refused);
        assert!(
            copied.refused[0].contains("`file.env`"),
            "{:?}",
            copied.refused
        );
        assert!(!t.wt.join("file.env").exists());
        assert_eq!(
            fs_err::read_to_string(t.wt.join("inner.env")).unwrap(),
            "inside\n"
        );
        assert!(
            !fs_err::symlink_metadata(t.wt.join("inner.env"))
                .unwrap()
                .is_symlink()
        );
        assert!(!t.wt.join("linked").exists());

        // A folder in the worktree that is a symlink to outside is never written through.
        write(&t.main.join("cfg/a.local.json"), "{}\n");
        std::os::unix::fs::symlink(&t.outside, t.wt.join("cfg")).unwrap();
        let copied = copy_into(&t.main, &t.wt, &strings(&["cfg/*.json"]))
            .unwrap()
            .files;
        assert!(copied.is_empty());
        assert!(!t.outside.join("a.local.json").exists());
    }

    #[test]
    fn bad_glob_is_reported() {
        let t = trees();
        let err = copy_into(&t.main, &t.wt, &strings(&["ok", "config/[oops"])).unwrap_err();
        match &err {
            ConfigError::BadGlob { pattern, .. } => assert_eq!(pattern, "config/[oops"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("`config/[oops`"), "{err}");
        assert_eq!(copy_into(&t.main, &t.wt, &[]).unwrap(), Copied::default());
    }
}
