//! Which GitHub repository a git remote is: `owner/name` from its URL, when the URL is on the
//! configured GitHub host (https, `ssh://` or scp-like `git@host:owner/name.git`).

/// A repository on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
    /// Whether git reaches it over http(s): only then does Grove lend git the token (ssh
    /// remotes use the user's own keys).
    pub https: bool,
}

impl RepoRef {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// `owner/name` of `url` if it is on `host` (`github.com`, `ghe.example:8443`).
pub fn parse(url: &str, host: &str) -> Option<RepoRef> {
    let url = url.trim();
    let (url_host, path, https) = if let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        let (authority, path) = rest.split_once('/')?;
        // Drop any user info: `https://user@github.com/...`.
        let authority = authority.rsplit('@').next()?;
        (authority.to_owned(), path, true)
    } else if let Some(rest) = url.strip_prefix("ssh://") {
        let (authority, path) = rest.split_once('/')?;
        let authority = authority.rsplit('@').next()?;
        // An ssh port is not the web port: compare hosts only.
        let h = authority.split(':').next()?;
        (h.to_owned(), path, false)
    } else if !url.contains("://") {
        // scp-like: [user@]host:owner/name.git
        let (authority, path) = url.split_once(':')?;
        let authority = authority.rsplit('@').next()?;
        (authority.to_owned(), path, false)
    } else {
        return None;
    };
    let host_matches = if https {
        url_host.eq_ignore_ascii_case(host)
    } else {
        url_host.eq_ignore_ascii_case(host.split(':').next().unwrap_or(host))
    };
    if !host_matches {
        return None;
    }
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let mut parts = path.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    let valid = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if parts.next().is_some() || !valid(owner) || !valid(name) {
        return None;
    }
    Some(RepoRef {
        owner: owner.to_owned(),
        name: name.to_owned(),
        https,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(owner: &str, name: &str, https: bool) -> Option<RepoRef> {
        Some(RepoRef {
            owner: owner.into(),
            name: name.into(),
            https,
        })
    }

    #[test]
    fn parses_the_usual_remote_shapes_on_the_configured_host_only() {
        let h = "github.com";
        assert_eq!(
            parse("https://github.com/acme/app.git", h),
            r("acme", "app", true)
        );
        assert_eq!(
            parse("https://x@github.com/acme/app", h),
            r("acme", "app", true)
        );
        assert_eq!(
            parse("git@github.com:acme/app.git", h),
            r("acme", "app", false)
        );
        assert_eq!(
            parse("ssh://git@github.com:22/acme/app.git", h),
            r("acme", "app", false)
        );
        assert_eq!(parse("https://gitlab.com/acme/app.git", h), None);
        assert_eq!(parse("https://github.com/acme/app/extra", h), None);
        assert_eq!(parse("https://github.com/acme", h), None);
        assert_eq!(parse("/srv/git/app.git", h), None);
        assert_eq!(
            parse("http://127.0.0.1:8080/o/r.git", "127.0.0.1:8080"),
            r("o", "r", true)
        );
        assert_eq!(parse("http://127.0.0.1:9/o/r.git", "127.0.0.1:8080"), None);
    }
}
