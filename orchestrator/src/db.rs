//! Grove's state in SQLite: repos, sessions, terminals, port blocks. WAL mode, versioned
//! migrations (`PRAGMA user_version`). An unreadable database is an error that names the file;
//! Grove never starts fresh over it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::wire::{SecretExposure, SessionState, TerminalKind};

/// First port handed out, and the end of the range; blocks are 10 ports wide.
pub const PORT_RANGE: std::ops::Range<u16> = 20000..40000;
pub const PORT_BLOCK: u16 = 10;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "Grove's database {path} could not be opened ({source}); it was left as it is — move it aside to start over"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("no free block of {PORT_BLOCK} ports left in {start}..{end}")]
    NoPorts { start: u16, end: u16 },
}

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE repos (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        added_at INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        repo_id INTEGER NOT NULL REFERENCES repos(id),
        name TEXT NOT NULL,
        branch TEXT NOT NULL,
        base TEXT NOT NULL,
        worktree TEXT NOT NULL,
        state TEXT NOT NULL,
        agent_command TEXT NOT NULL,
        port_base INTEGER NOT NULL UNIQUE,
        has_setup INTEGER NOT NULL DEFAULT 0,
        setup_exit INTEGER,
        created_at INTEGER NOT NULL,
        UNIQUE (repo_id, name)
    );
    CREATE TABLE terminals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        command TEXT NOT NULL,
        rows INTEGER NOT NULL,
        cols INTEGER NOT NULL,
        exit_code INTEGER,
        exit_signal INTEGER,
        created_at INTEGER NOT NULL
    );",
    // 2: approvals of repositories' grove.toml (see crate::trust), and the one-time nonce that
    // lets only a session's own setup run report its exit status.
    "CREATE TABLE repo_trust (
        repo_id INTEGER PRIMARY KEY REFERENCES repos(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        allow_env TEXT NOT NULL,
        config TEXT NOT NULL,
        approved_at INTEGER NOT NULL
    );
    ALTER TABLE sessions ADD COLUMN setup_nonce TEXT;",
    // 3: secrets the user exposed to a repository's terminals (names only: values live in the
    // vault), one row per environment variable.
    "CREATE TABLE secret_exposures (
        repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
        var TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (repo_id, var)
    );",
    // 4: each session's pull request as last checked on GitHub (a `wire::PullStatus` as JSON).
    "CREATE TABLE session_pulls (
        session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        status TEXT NOT NULL
    );",
    // 5: remote servers this one relays (their tokens are in the vault, `grove.remote.<name>`).
    "CREATE TABLE remotes (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        remote_port INTEGER,
        fingerprint TEXT,
        created_at INTEGER NOT NULL
    );",
];

/// A remote server as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteRow {
    pub name: String,
    pub url: String,
    pub remote_port: Option<u16>,
    pub fingerprint: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RepoRow {
    pub id: i64,
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// Reserved while the worktree is being created.
    Creating,
    Active,
    Archived,
}

impl RowState {
    fn as_str(self) -> &'static str {
        match self {
            RowState::Creating => "creating",
            RowState::Active => "active",
            RowState::Archived => "archived",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "active" => RowState::Active,
            "archived" => RowState::Archived,
            _ => RowState::Creating,
        }
    }
    pub fn wire(self) -> SessionState {
        match self {
            RowState::Archived => SessionState::Archived,
            _ => SessionState::Active,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: i64,
    pub repo_id: i64,
    pub name: String,
    pub branch: String,
    pub base: String,
    pub worktree: PathBuf,
    pub state: RowState,
    pub agent_command: String,
    pub port_base: u16,
    pub has_setup: bool,
    pub setup_exit: Option<i32>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TerminalRow {
    pub id: i64,
    pub session_id: i64,
    pub kind: TerminalKind,
    pub command: String,
    pub rows: u16,
    pub cols: u16,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
}

/// What a new session row needs; the id and port block are assigned on insert.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub repo_id: i64,
    pub name: &'a str,
    pub branch: &'a str,
    pub base: &'a str,
    pub worktree: &'a Path,
    pub agent_command: &'a str,
    pub has_setup: bool,
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Unix seconds (GitHub's clock: rate-limit resets, and the wire's `expires_at`/`checked_at`).
pub fn now_secs() -> i64 {
    now() / 1000
}

/// The database connection. Callers hold it behind a mutex and keep each use short.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
}

impl Db {
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let open_err = |source| DbError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        let mut db = Db { conn };
        db.migrate().map_err(open_err)?;
        Ok(db)
    }

    fn migrate(&mut self) -> rusqlite::Result<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    // ---- repos ----

    pub fn add_repo(&self, path: &Path, name: &str) -> Result<Option<RepoRow>, DbError> {
        let path_s = path.to_string_lossy();
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO repos (path, name, added_at) VALUES (?1, ?2, ?3)",
            params![path_s, name, now()],
        )?;
        if inserted == 0 {
            return Ok(None);
        }
        Ok(Some(RepoRow {
            id: self.conn.last_insert_rowid(),
            name: name.into(),
            path: path.into(),
        }))
    }

    pub fn repos(&self) -> Result<Vec<RepoRow>, DbError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, path FROM repos ORDER BY name, id")?;
        let rows = stmt.query_map([], |r| {
            Ok(RepoRow {
                id: r.get(0)?,
                name: r.get(1)?,
                path: PathBuf::from(r.get::<_, String>(2)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn repo(&self, id: i64) -> Result<Option<RepoRow>, DbError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, path FROM repos WHERE id = ?1",
                [id],
                |r| {
                    Ok(RepoRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        path: PathBuf::from(r.get::<_, String>(2)?),
                    })
                },
            )
            .optional()?)
    }

    pub fn repo_session_count(&self, repo_id: i64) -> Result<i64, DbError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM sessions WHERE repo_id = ?1",
            [repo_id],
            |r| r.get(0),
        )?)
    }

    pub fn remove_repo(&self, id: i64) -> Result<bool, DbError> {
        self.conn
            .execute("DELETE FROM repo_trust WHERE repo_id = ?1", [id])?;
        self.conn
            .execute("DELETE FROM secret_exposures WHERE repo_id = ?1", [id])?;
        Ok(self.conn.execute("DELETE FROM repos WHERE id = ?1", [id])? > 0)
    }

    // ---- secret exposures ----

    /// Exposures, of one repository or of all, ordered by repository and variable.
    pub fn exposures(&self, repo_id: Option<i64>) -> Result<Vec<SecretExposure>, DbError> {
        let mut stmt = self.conn.prepare(
            "SELECT repo_id, secret, var FROM secret_exposures
             WHERE ?1 IS NULL OR repo_id = ?1 ORDER BY repo_id, var",
        )?;
        let rows = stmt.query_map([repo_id], |r| {
            Ok(SecretExposure {
                repo_id: r.get(0)?,
                secret: r.get(1)?,
                var: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Exposes `secret` to the repository as `var`, replacing what `var` was before.
    pub fn set_exposure(&self, repo_id: i64, var: &str, secret: &str) -> Result<(), DbError> {
        self.conn.execute(
            "INSERT INTO secret_exposures (repo_id, var, secret, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (repo_id, var) DO UPDATE SET secret = excluded.secret,
             created_at = excluded.created_at",
            params![repo_id, var, secret, now()],
        )?;
        Ok(())
    }

    pub fn remove_exposure(&self, repo_id: i64, var: &str) -> Result<bool, DbError> {
        Ok(self.conn.execute(
            "DELETE FROM secret_exposures WHERE repo_id = ?1 AND var = ?2",
            params![repo_id, var],
        )? > 0)
    }

    /// Forgets every exposure of a secret (it was deleted).
    pub fn remove_exposures_of(&self, secret: &str) -> Result<usize, DbError> {
        Ok(self
            .conn
            .execute("DELETE FROM secret_exposures WHERE secret = ?1", [secret])?)
    }

    // ---- trust ----

    /// The user's approval of a repository's config, if any. A stored row that no longer parses
    /// counts as no approval (the user is asked again), never as approval.
    pub fn approval(&self, repo_id: i64) -> Result<Option<crate::trust::Approval>, DbError> {
        let row = self
            .conn
            .query_row(
                "SELECT hash, allow_env, config FROM repo_trust WHERE repo_id = ?1",
                [repo_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.and_then(|(hash, allow, config)| {
            Some(crate::trust::Approval {
                hash,
                allow_env: serde_json::from_str(&allow).ok()?,
                config: serde_json::from_str(&config).ok()?,
            })
        }))
    }

    pub fn set_approval(
        &self,
        repo_id: i64,
        approval: &crate::trust::Approval,
    ) -> Result<(), DbError> {
        let allow = serde_json::to_string(&approval.allow_env).unwrap_or_else(|_| "[]".into());
        let config = serde_json::to_string(&approval.config).unwrap_or_else(|_| "{}".into());
        self.conn.execute(
            "INSERT INTO repo_trust (repo_id, hash, allow_env, config, approved_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (repo_id) DO UPDATE SET hash = ?2, allow_env = ?3, config = ?4,
                 approved_at = ?5",
            rusqlite::params![repo_id, approval.hash, allow, config, now()],
        )?;
        Ok(())
    }

    pub fn remove_approval(&self, repo_id: i64) -> Result<bool, DbError> {
        Ok(self
            .conn
            .execute("DELETE FROM repo_trust WHERE repo_id = ?1", [repo_id])?
            > 0)
    }

    /// Records the nonce a session's setup run will print with its exit status.
    pub fn set_setup_nonce(&self, session_id: i64, nonce: &str) -> Result<(), DbError> {
        self.conn.execute(
            "UPDATE sessions SET setup_nonce = ?2 WHERE id = ?1",
            rusqlite::params![session_id, nonce],
        )?;
        Ok(())
    }

    /// Records the setup's exit status only when `nonce` is the session's, and only once: the
    /// nonce is spent here, so a program that prints the same sequence later changes nothing.
    pub fn take_setup_exit(
        &self,
        session_id: i64,
        nonce: &str,
        code: i32,
    ) -> Result<bool, DbError> {
        Ok(self.conn.execute(
            "UPDATE sessions SET setup_exit = ?3, setup_nonce = NULL
             WHERE id = ?1 AND setup_nonce IS NOT NULL AND setup_nonce = ?2",
            rusqlite::params![session_id, nonce, code],
        )? > 0)
    }

    // ---- sessions ----

    /// Inserts a session in the `creating` state with a free block of ports, in one transaction
    /// so that no two sessions ever share a port. `port_free` checks a block is bindable now.
    /// Returns `None` when the name is taken in that repo.
    pub fn reserve_session(
        &mut self,
        new: &NewSession<'_>,
        port_free: impl Fn(u16) -> bool,
    ) -> Result<Option<SessionRow>, DbError> {
        let tx = self.conn.transaction()?;
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE repo_id = ?1 AND name = ?2)",
            params![new.repo_id, new.name],
            |r| r.get(0),
        )?;
        if taken {
            return Ok(None);
        }
        let port_base = allocate_ports(&tx, &port_free)?;
        let created_at = now();
        tx.execute(
            "INSERT INTO sessions (repo_id, name, branch, base, worktree, state, agent_command,
                port_base, has_setup, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                new.repo_id,
                new.name,
                new.branch,
                new.base,
                new.worktree.to_string_lossy(),
                RowState::Creating.as_str(),
                new.agent_command,
                port_base,
                new.has_setup,
                created_at
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Some(SessionRow {
            id,
            repo_id: new.repo_id,
            name: new.name.into(),
            branch: new.branch.into(),
            base: new.base.into(),
            worktree: new.worktree.into(),
            state: RowState::Creating,
            agent_command: new.agent_command.into(),
            port_base,
            has_setup: new.has_setup,
            setup_exit: None,
            created_at,
        }))
    }

    pub fn sessions(&self) -> Result<Vec<SessionRow>, DbError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SESSION_SELECT} ORDER BY id"))?;
        let rows = stmt.query_map([], session_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn session(&self, id: i64) -> Result<Option<SessionRow>, DbError> {
        Ok(self
            .conn
            .query_row(
                &format!("{SESSION_SELECT} WHERE id = ?1"),
                [id],
                session_row,
            )
            .optional()?)
    }

    pub fn set_session_state(&self, id: i64, state: RowState) -> Result<(), DbError> {
        self.conn.execute(
            "UPDATE sessions SET state = ?2 WHERE id = ?1",
            params![id, state.as_str()],
        )?;
        Ok(())
    }

    pub fn set_session_base(&self, id: i64, base: &str) -> Result<(), DbError> {
        self.conn.execute(
            "UPDATE sessions SET base = ?2 WHERE id = ?1",
            params![id, base],
        )?;
        Ok(())
    }

    // ---- remotes ----

    pub fn remotes(&self) -> Result<Vec<RemoteRow>, DbError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, url, remote_port, fingerprint FROM remotes ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(RemoteRow {
                name: r.get(0)?,
                url: r.get(1)?,
                remote_port: r.get(2)?,
                fingerprint: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds a remote; false when one of that name exists.
    pub fn add_remote(&self, row: &RemoteRow) -> Result<bool, DbError> {
        Ok(self.conn.execute(
            "INSERT INTO remotes (name, url, remote_port, fingerprint, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(name) DO NOTHING",
            params![row.name, row.url, row.remote_port, row.fingerprint, now()],
        )? > 0)
    }

    pub fn remove_remote(&self, name: &str) -> Result<bool, DbError> {
        Ok(self
            .conn
            .execute("DELETE FROM remotes WHERE name = ?1", [name])?
            > 0)
    }

    pub fn pulls(&self) -> Result<Vec<(i64, String)>, DbError> {
        let mut stmt = self
            .conn
            .prepare("SELECT session_id, status FROM session_pulls")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_pull(&self, session_id: i64, status: &str) -> Result<(), DbError> {
        self.conn.execute(
            "INSERT INTO session_pulls (session_id, status) VALUES (?1, ?2)
             ON CONFLICT(session_id) DO UPDATE SET status = excluded.status",
            rusqlite::params![session_id, status],
        )?;
        Ok(())
    }

    pub fn delete_session(&self, id: i64) -> Result<(), DbError> {
        self.conn
            .execute("DELETE FROM sessions WHERE id = ?1", [id])?;
        Ok(())
    }

    // ---- terminals ----

    pub fn add_terminal(
        &self,
        session_id: i64,
        kind: TerminalKind,
        command: &str,
        rows: u16,
        cols: u16,
    ) -> Result<TerminalRow, DbError> {
        let kind_s = match kind {
            TerminalKind::Agent => "agent",
            TerminalKind::Shell => "shell",
        };
        self.conn.execute(
            "INSERT INTO terminals (session_id, kind, command, rows, cols, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![session_id, kind_s, command, rows, cols, now()],
        )?;
        Ok(TerminalRow {
            id: self.conn.last_insert_rowid(),
            session_id,
            kind,
            command: command.into(),
            rows,
            cols,
            exit_code: None,
            exit_signal: None,
        })
    }

    pub fn terminals(&self) -> Result<Vec<TerminalRow>, DbError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, session_id, kind, command, rows, cols, exit_code, exit_signal
             FROM terminals ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(TerminalRow {
                id: r.get(0)?,
                session_id: r.get(1)?,
                kind: if r.get::<_, String>(2)? == "agent" {
                    TerminalKind::Agent
                } else {
                    TerminalKind::Shell
                },
                command: r.get(3)?,
                rows: r.get(4)?,
                cols: r.get(5)?,
                exit_code: r.get(6)?,
                exit_signal: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_terminal_exit(
        &self,
        id: i64,
        code: Option<i32>,
        signal: Option<i32>,
    ) -> Result<(), DbError> {
        self.conn.execute(
            "UPDATE terminals SET exit_code = ?2, exit_signal = ?3 WHERE id = ?1",
            params![id, code, signal],
        )?;
        Ok(())
    }

    pub fn set_terminal_size(&self, id: i64, rows: u16, cols: u16) -> Result<(), DbError> {
        self.conn.execute(
            "UPDATE terminals SET rows = ?2, cols = ?3 WHERE id = ?1",
            params![id, rows, cols],
        )?;
        Ok(())
    }

    pub fn delete_terminal(&self, id: i64) -> Result<(), DbError> {
        self.conn
            .execute("DELETE FROM terminals WHERE id = ?1", [id])?;
        Ok(())
    }
}

const SESSION_SELECT: &str =
    "SELECT id, repo_id, name, branch, base, worktree, state, agent_command,
    port_base, has_setup, setup_exit, created_at FROM sessions";

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        repo_id: r.get(1)?,
        name: r.get(2)?,
        branch: r.get(3)?,
        base: r.get(4)?,
        worktree: PathBuf::from(r.get::<_, String>(5)?),
        state: RowState::parse(&r.get::<_, String>(6)?),
        agent_command: r.get(7)?,
        port_base: r.get(8)?,
        has_setup: r.get(9)?,
        setup_exit: r.get(10)?,
        created_at: r.get(11)?,
    })
}

fn allocate_ports(tx: &Transaction<'_>, port_free: &impl Fn(u16) -> bool) -> Result<u16, DbError> {
    let mut stmt = tx.prepare("SELECT port_base FROM sessions")?;
    let used: std::collections::HashSet<u16> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut base = PORT_RANGE.start;
    while base + PORT_BLOCK <= PORT_RANGE.end {
        if !used.contains(&base) && port_free(base) {
            return Ok(base);
        }
        base += PORT_BLOCK;
    }
    Err(DbError::NoPorts {
        start: PORT_RANGE.start,
        end: PORT_RANGE.end,
    })
}

/// Whether every port of the block starting at `base` can be bound on loopback right now.
pub fn port_block_free(base: u16) -> bool {
    (base..base + PORT_BLOCK).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_and_allocates_distinct_port_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("g.db")).unwrap();
        let repo = db.add_repo(Path::new("/r"), "r").unwrap().unwrap();
        assert!(
            db.add_repo(Path::new("/r"), "r").unwrap().is_none(),
            "same path twice"
        );
        let mk = |name: &'static str| NewSession {
            repo_id: repo.id,
            name,
            branch: name,
            base: "main",
            worktree: Path::new("/w"),
            agent_command: "sh",
            has_setup: false,
        };
        // Pretend the first block is busy.
        let a = db
            .reserve_session(&mk("a"), |b| b != PORT_RANGE.start)
            .unwrap()
            .unwrap();
        let b = db.reserve_session(&mk("b"), |_| true).unwrap().unwrap();
        assert_eq!(a.port_base, PORT_RANGE.start + PORT_BLOCK);
        assert_eq!(b.port_base, PORT_RANGE.start);
        assert!(
            db.reserve_session(&mk("a"), |_| true).unwrap().is_none(),
            "name taken"
        );
        drop(db);
        // Re-opening keeps everything and does not re-run migrations.
        let db = Db::open(&dir.path().join("g.db")).unwrap();
        assert_eq!(db.sessions().unwrap().len(), 2);
    }

    #[test]
    fn garbage_database_is_named_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        std::fs::write(&path, b"this is not sqlite, but it is somebody's file").unwrap();
        let err = Db::open(&path).unwrap_err();
        assert!(err.to_string().contains("g.db"), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"this is not sqlite, but it is somebody's file"
        );
    }
}
