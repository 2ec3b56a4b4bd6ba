//! The one error response of the server: `{ code, message }` with the status that fits the code.
//! Every route, the terminal socket's upgrade and the access checks answer through it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::access::Refusal;
use crate::wire::{ApiError, ErrorCode};

/// The HTTP status for an error code.
pub(crate) fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::NotFound | C::NotChanged => StatusCode::NOT_FOUND,
        C::InvalidRequest => StatusCode::BAD_REQUEST,
        C::Unauthorized => StatusCode::UNAUTHORIZED,
        C::Forbidden => StatusCode::FORBIDDEN,
        C::RepoExists
        | C::NameTaken
        | C::BranchExists
        | C::DirtyWorktree
        | C::UnpushedCommits
        | C::NotMerged
        | C::Drift
        | C::NotArchived
        | C::NotActive
        | C::UntrustedConfig
        | C::ConfigChanged
        | C::TerminalExited
        | C::NothingToCommit
        | C::AlreadyPushed
        | C::ChangedSinceRevert
        | C::NothingToUndo
        | C::HunkNotFound
        | C::VaultCorrupt
        | C::GithubSignedOut
        | C::PushRejected
        | C::RemoteExists => StatusCode::CONFLICT,
        C::RemoteOffline => StatusCode::SERVICE_UNAVAILABLE,
        C::RemoteUnauthorized | C::FingerprintMismatch | C::IncompatibleRemote => {
            StatusCode::BAD_GATEWAY
        }
        C::GithubUnreachable | C::GithubError | C::PushFailed => StatusCode::BAD_GATEWAY,
        C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        C::BadState => StatusCode::BAD_REQUEST,
        C::NotGithub | C::DraftUnsupported => StatusCode::UNPROCESSABLE_ENTITY,
        C::VaultLocked => StatusCode::LOCKED,
        C::WrongPassphrase => StatusCode::UNPROCESSABLE_ENTITY,
        C::PathMissing
        | C::NotARepo
        | C::BareRepo
        | C::EmptyRepo
        | C::RefNotFound
        | C::DetachedBase
        | C::InvalidConfig
        | C::CommandNotFound
        | C::HookFailed
        | C::IdentityMissing => StatusCode::UNPROCESSABLE_ENTITY,
        C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error as a response.
pub(crate) fn error_response(err: ApiError) -> Response {
    (status_of(err.code), Json(err)).into_response()
}

/// A 400 with a message saying what was wrong with the request.
pub(crate) fn bad_request(message: String) -> Response {
    error_response(ApiError {
        code: ErrorCode::InvalidRequest,
        message,
    })
}

/// A refused request (wrong Host, Origin or token).
pub(crate) fn refusal(r: Refusal) -> Response {
    let code = if r.status == StatusCode::UNAUTHORIZED {
        ErrorCode::Unauthorized
    } else {
        ErrorCode::Forbidden
    };
    error_response(ApiError {
        code,
        message: r.message.into(),
    })
}
