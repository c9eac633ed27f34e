//! Optional API keys: when `api_keys` is set, protected routes need
//! `Authorization: Bearer <key>` or `X-API-Key: <key>`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";

pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let keys = &state.security.api_keys;
    if keys.is_empty() || presents_one_of(keys, request.headers()) {
        Ok(next.run(request).await)
    } else {
        Err(AppError::Unauthorized)
    }
}

/// `/admin/*`: an admin key, always (no keys at all means no admin routes,
/// see `routes::admin_routes`, and still nothing passes here).
pub async fn require_admin_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if presents_one_of(&state.security.admin_api_keys, request.headers()) {
        Ok(next.run(request).await)
    } else {
        Err(AppError::Unauthorized)
    }
}

fn presents_one_of(keys: &[String], headers: &HeaderMap) -> bool {
    presented_key(headers).is_some_and(|k| matches_any(keys, k))
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    bearer
        .or_else(|| headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok()))
        .map(str::trim)
}

/// The token of `Bearer <token>`; the scheme name is case-insensitive
/// (RFC 9110, section 11.1), so `bearer` and `BEARER` are the same.
fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// Compares digests in constant time and checks every key, so neither the
/// key's length nor which key nearly matched leaks through timing.
fn matches_any(keys: &[String], presented: &str) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    keys.iter().fold(0u8, |hit, key| {
        hit | Sha256::digest(key.as_bytes()).ct_eq(&presented).unwrap_u8()
    }) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        let keys = vec!["alpha".to_owned(), "beta".to_owned()];
        assert!(matches_any(&keys, "beta"));
        assert!(!matches_any(&keys, "bet"));
        assert!(!matches_any(&keys, "beta "));
        assert!(!matches_any(&[], "beta"));
    }

    #[test]
    fn bearer_wins_over_header_and_both_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, "from-header".parse().unwrap());
        assert_eq!(presented_key(&headers), Some("from-header"));
        headers.insert(header::AUTHORIZATION, "Bearer from-bearer".parse().unwrap());
        assert_eq!(presented_key(&headers), Some("from-bearer"));
    }

    #[test]
    fn the_bearer_scheme_name_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert_eq!(bearer_token(&format!("{scheme} k1")), Some("k1"), "{scheme}");
        }
        assert_eq!(bearer_token("Basic k1"), None);
        assert_eq!(bearer_token("Bearerk1"), None);
    }
}
