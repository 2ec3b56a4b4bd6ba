//! `grove://` links: strict parsing, and the queue that holds them until the UI is listening.
//!
//! Only two shapes are accepted, anything else is ignored with a log line:
//! - `grove://session/<id>` focuses that session (`<id>` a positive decimal session id);
//! - `grove://auth/callback?code=…&state=…` (or `?error=…&state=…`) is the OAuth redirect.

use url::Url;

/// Longest link accepted at all; OAuth codes and states are far shorter.
const MAX_LINK: usize = 2048;
/// Longest OAuth parameter value accepted.
const MAX_PARAM: usize = 512;

/// A parsed `grove://` link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Session(i64),
    AuthCallback(AuthCallback),
}

/// The OAuth redirect's parameters, checked in shape only (the exchange happens elsewhere).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthCallback {
    pub state: String,
    pub outcome: AuthOutcome,
}

#[derive(Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Code(String),
    Error(String),
}

// The code is a credential: it never reaches a log through Debug.
impl std::fmt::Debug for AuthCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outcome = match &self.outcome {
            AuthOutcome::Code(_) => "code(…)".to_owned(),
            AuthOutcome::Error(e) => format!("error({e})"),
        };
        f.debug_struct("AuthCallback")
            .field("state", &self.state)
            .field("outcome", &outcome)
            .finish()
    }
}

/// Why a link was refused. The messages never quote the link's query (it may hold a code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("longer than {MAX_LINK} bytes")]
    TooLong,
    #[error("not a URL")]
    NotUrl,
    #[error("scheme is not grove")]
    Scheme,
    #[error("carries a user, password or port")]
    Authority,
    #[error("carries a fragment")]
    Fragment,
    #[error("unknown kind of link")]
    Unknown,
    #[error("session link must be grove://session/<id> with a positive numeric id")]
    SessionId,
    #[error("auth callback must be grove://auth/callback?code=…&state=… (or error=…&state=…)")]
    AuthShape,
}

/// Parses one `grove://` link, strictly.
pub fn parse(raw: &str) -> Result<Link, LinkError> {
    if raw.len() > MAX_LINK {
        return Err(LinkError::TooLong);
    }
    let url = Url::parse(raw).map_err(|_| LinkError::NotUrl)?;
    if url.scheme() != "grove" {
        return Err(LinkError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() || url.port().is_some() {
        return Err(LinkError::Authority);
    }
    if url.fragment().is_some() {
        return Err(LinkError::Fragment);
    }
    match url.host_str() {
        Some("session") => {
            if url.query().is_some() {
                return Err(LinkError::SessionId);
            }
            let id = url.path().strip_prefix('/').ok_or(LinkError::SessionId)?;
            // Digits only (no sign, no spaces), no leading zero, and it fits an i64.
            if id.is_empty()
                || id.len() > 18
                || id.starts_with('0')
                || !id.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(LinkError::SessionId);
            }
            id.parse()
                .map(Link::Session)
                .map_err(|_| LinkError::SessionId)
        }
        Some("auth") => parse_auth(&url).map(Link::AuthCallback),
        _ => Err(LinkError::Unknown),
    }
}

fn parse_auth(url: &Url) -> Result<AuthCallback, LinkError> {
    if url.path() != "/callback" {
        return Err(LinkError::AuthShape);
    }
    let (mut code, mut state, mut error) = (None, None, None);
    for (key, value) in url.query_pairs() {
        let slot = match key.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "error" => &mut error,
            // Providers add a description and URI to errors; they are informative only.
            "error_description" | "error_uri" => continue,
            _ => return Err(LinkError::AuthShape),
        };
        if slot.is_some() || !valid_param(&value) {
            return Err(LinkError::AuthShape);
        }
        *slot = Some(value.into_owned());
    }
    let state = state.ok_or(LinkError::AuthShape)?;
    let outcome = match (code, error) {
        (Some(code), None) => AuthOutcome::Code(code),
        (None, Some(error)) => AuthOutcome::Error(error),
        _ => return Err(LinkError::AuthShape),
    };
    Ok(AuthCallback { state, outcome })
}

/// OAuth codes, states and error codes are URL-safe tokens (RFC 6749 appendix A).
fn valid_param(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_PARAM
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Picks the `grove:` links out of a command line (the first item is the program).
pub fn from_args(args: &[String]) -> Vec<&str> {
    args.iter()
        .skip(1)
        .map(String::as_str)
        .filter(|a| a.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("grove:")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The Linux bundles register the scheme in their .desktop entry; its Exec line must pass the
    /// link on (`%u`), or a link that starts Grove arrives as an empty command line. Tauri's
    /// stock template has no field code, hence Grove's own.
    #[test]
    fn the_desktop_entry_hands_links_to_the_app() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let conf: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("tauri.conf.json")).unwrap())
                .unwrap();
        assert_eq!(
            conf["plugins"]["deep-link"]["desktop"]["schemes"][0],
            "grove"
        );
        let template = conf["bundle"]["linux"]["deb"]["desktopTemplate"]
            .as_str()
            .expect("bundle.linux.deb.desktopTemplate");
        let entry = std::fs::read_to_string(dir.join(template)).unwrap();
        let exec = entry
            .lines()
            .find(|l| l.starts_with("Exec="))
            .expect("an Exec line");
        assert!(exec.ends_with(" %u"), "{exec}");
        assert!(entry.contains("MimeType={{mime_type}}"), "{entry}");
    }

    #[test]
    fn session_links() {
        assert_eq!(parse("grove://session/42"), Ok(Link::Session(42)));
        assert_eq!(parse("GROVE://session/7"), Ok(Link::Session(7)));
        for bad in [
            "grove://session/",
            "grove://session",
            "grove://session/0",
            "grove://session/007",
            "grove://session/-1",
            "grove://session/+1",
            "grove://session/1/2",
            "grove://session/1/",
            "grove://session/abc",
            "grove://session/1?x=1",
            "grove://session/1#x",
            "grove://session/99999999999999999999",
            "grove://session:80/1",
            "grove://u@session/1",
            "grove://sessions/1",
            "grove:session/1",
            "https://session/1",
            "grove://",
            "not a url",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn auth_callbacks() {
        let ok = parse("grove://auth/callback?code=abc-123&state=s.t_u~v").unwrap();
        assert_eq!(
            ok,
            Link::AuthCallback(AuthCallback {
                state: "s.t_u~v".into(),
                outcome: AuthOutcome::Code("abc-123".into()),
            })
        );
        assert!(!format!("{ok:?}").contains("abc-123"), "code in Debug");
        assert!(matches!(
            parse("grove://auth/callback?error=access_denied&error_description=no&state=x"),
            Ok(Link::AuthCallback(AuthCallback {
                outcome: AuthOutcome::Error(_),
                ..
            }))
        ));
        for bad in [
            "grove://auth/callback",
            "grove://auth/callback?code=a",
            "grove://auth/callback?state=a",
            "grove://auth/callback?code=a&state=b&state=c",
            "grove://auth/callback?code=a&error=e&state=b",
            "grove://auth/callback?code=a&state=b&extra=1",
            "grove://auth/callback?code=&state=b",
            "grove://auth/callback?code=a%20b&state=b",
            "grove://auth/callback?code=a%3Cb&state=b",
            "grove://auth/callback/?code=a&state=b",
            "grove://auth/other?code=a&state=b",
            "grove://auth/callback?code=a&state=b#frag",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
        let long = format!("grove://auth/callback?code={}&state=b", "a".repeat(600));
        assert!(parse(&long).is_err());
        assert_eq!(parse(&"x".repeat(5000)), Err(LinkError::TooLong));
    }

    #[test]
    fn links_on_a_command_line() {
        let args: Vec<String> = [
            "grove-desktop",
            "--flag",
            "grove://session/1",
            "GROVE:x",
            "grovéé",
        ]
        .map(String::from)
        .into();
        assert_eq!(from_args(&args), ["grove://session/1", "GROVE:x"]);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
        }

        #[test]
        fn session_ids_round_trip(id in 1i64..=999_999_999_999_999_999) {
            prop_assert_eq!(parse(&format!("grove://session/{id}")), Ok(Link::Session(id)));
        }

        #[test]
        fn grove_prefixed_noise_never_panics(s in "grove://[a-z/?&=%#:@.0-9]{0,80}") {
            let _ = parse(&s);
        }
    }
}
