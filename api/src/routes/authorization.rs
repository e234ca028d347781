//! Which requests need an API key, in one place ([`requirement`]), and the middleware that
//! checks it and hands the handlers a [`crate::api_keys::Caller`] (as an `Extension`).

use crate::api_keys::{ApiKeyScope, Requirement};
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What a request needs, by method and path:
/// - `/v1/commands/*`: always a key, `write` to send (POST), `read` otherwise;
/// - any other `/v1/*`: once any key exists, `write` for POST (`/v1/usage`), `read` otherwise;
/// - everything else (`/webhooks/stripe`, signed by Stripe; `/health`; `/metrics`): nothing.
pub(crate) fn requirement(method: &Method, path: &str) -> Option<Requirement> {
    let scope = if method == Method::POST {
        ApiKeyScope::Write
    } else {
        ApiKeyScope::Read
    };
    if path == "/v1/commands" || path.starts_with("/v1/commands/") {
        Some(Requirement::Always(scope))
    } else if path.starts_with("/v1/") {
        Some(Requirement::OnceKeysExist(scope))
    } else {
        None
    }
}

/// Middleware: checks the request's `Authorization` header against [`requirement`]; refuses
/// it (401 / 403, see [`crate::api_keys::ApiKeyGate::check`]) or passes it on with its
/// [`crate::api_keys::Caller`] as a request extension.
pub async fn authorize(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(requirement) = requirement(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"));
    match state.api_keys.check(authorization, requirement).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_always_need_a_key_other_routes_once_keys_exist() {
        assert_eq!(
            requirement(&Method::POST, "/v1/commands/create_customer"),
            Some(Requirement::Always(ApiKeyScope::Write))
        );
        assert_eq!(
            requirement(
                &Method::GET,
                "/v1/commands/0190f5c4-8d5e-7b1a-9c3e-2f4a6b8c0d1e"
            ),
            Some(Requirement::Always(ApiKeyScope::Read))
        );
        assert_eq!(
            requirement(&Method::GET, "/v1/reports/mrr"),
            Some(Requirement::OnceKeysExist(ApiKeyScope::Read))
        );
        assert_eq!(
            requirement(&Method::POST, "/v1/usage"),
            Some(Requirement::OnceKeysExist(ApiKeyScope::Write))
        );
        assert_eq!(requirement(&Method::POST, "/webhooks/stripe"), None);
        assert_eq!(requirement(&Method::GET, "/health"), None);
        assert_eq!(requirement(&Method::GET, "/metrics"), None);
    }
}
