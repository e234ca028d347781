//! Sending one request through the whole router (no socket) and reading the answer.

use api::{router, AppState};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The answer's status, `Content-Type` (empty when absent) and body bytes.
pub async fn send_for_bytes(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, String, Vec<u8>) {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("response");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, content_type, bytes.to_vec())
}

/// The answer's status and body as JSON (`Value::Null` when it is not JSON).
pub async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, bytes) = send_for_bytes(state, request).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The answer's status and body as text.
pub async fn send_for_text(state: &AppState, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, bytes) = send_for_bytes(state, request).await;
    (status, String::from_utf8_lossy(&bytes).into_owned())
}
