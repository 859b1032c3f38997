//! The token authority: `POST /{tenant}/oauth2/v2.0/token`, the Microsoft Entra v2 endpoint that
//! azure_identity's `ClientSecretCredential`, `ClientAssertionCredential` and
//! `WorkloadIdentityCredential` call when their authority host is the fake's base URL.
//!
//! Any client id and secret are accepted except the secret `wrong` (and the assertion `wrong`),
//! which fail the way Entra fails. The token is JWT-shaped (three base64url parts) so that it
//! looks and weighs like a real one in logs and transcripts; its signature is random. Only tokens
//! issued here open ARM and the gateway, and only for a management audience.

use crate::http::{Body, json_response, read_body};
use crate::state::{Fake, Identity, Route, fingerprint, random_uuid};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::{debug, info};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The lifetime of a token unless `token_lifetime_secs` changes it (Entra's default).
pub const LIFETIME_SECS: u64 = 3600;

/// The audiences ARM accepts (what a `…/.default` scope for ARM turns into).
pub const MANAGEMENT_AUDIENCES: [&str; 4] = [
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
];

pub async fn handle(fake: &Arc<Fake>, req: Request<Incoming>) -> Response<Body> {
    fake.world().counters.token_requests += 1;
    let tenant = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if req.method() != Method::POST {
        return entra_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        );
    }
    fake.delay(Route::Token).await;
    if let Some(failure) = fake.take_failure(Route::Token) {
        let status =
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let description = failure
            .message
            .as_deref()
            .unwrap_or("AADSTS90033: A transient error has occurred. Please try again.");
        let mut response = entra_error(
            status,
            failure.code.as_deref().unwrap_or("temporarily_unavailable"),
            aadsts_code(description).unwrap_or(90033),
            description,
        );
        if let Some(secs) = failure.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        return response;
    }
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    match issue(fake, &tenant, &form) {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => {
            fake.world().counters.token_failures += 1;
            entra_error(e.status, e.error, e.code, &e.description)
        }
    }
}

fn issue(
    fake: &Fake,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Result<serde_json::Value, EntraError> {
    for name in ["grant_type", "client_id", "scope"] {
        if form.get(name).is_none_or(String::is_empty) {
            return Err(EntraError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                format!(
                    "AADSTS900144: The request body must contain the following parameter: '{name}'."
                ),
            ));
        }
    }
    let grant = &form["grant_type"];
    if grant != "client_credentials" {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("AADSTS70003: The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = &form["client_id"];
    match (form.get("client_secret"), form.get("client_assertion")) {
        (Some(secret), _) if secret == "wrong" => {
            return Err(EntraError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                format!(
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            ));
        }
        (Some(_), _) => {}
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
                return Err(EntraError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                ));
            }
            if assertion == "wrong" {
                return Err(EntraError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    700213,
                    "AADSTS700213: No matching federated identity record found for presented assertion subject.",
                ));
            }
        }
        (None, None) => {
            return Err(EntraError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    }
    let scope = &form["scope"];
    let Some(audience) = scope.strip_suffix("/.default") else {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    let object_id = random_uuid();
    let lifetime = fake.world().behaviour.token_lifetime_secs;
    let token = make_token(tenant, client_id, &object_id, audience, lifetime);
    info!(
        client_id = %client_id,
        audience = %audience,
        token = %fingerprint(&token),
        "issued a token"
    );
    let mut w = fake.world();
    w.counters.tokens_issued += 1;
    w.tokens.insert(
        token.clone(),
        Identity {
            client_id: client_id.clone(),
            object_id,
            audience: audience.to_owned(),
        },
    );
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }))
}

fn make_token(
    tenant: &str,
    client_id: &str,
    object_id: &str,
    audience: &str,
    lifetime: u64,
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "fake-azure"});
    let claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now, "nbf": now, "exp": now + lifetime,
        "appid": client_id, "oid": object_id, "sub": object_id, "tid": tenant,
    });
    let signature: [u8; 64] = std::array::from_fn(|_| rand::random());
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A refused token request, before it becomes Entra's error response.
struct EntraError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

impl EntraError {
    fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        EntraError {
            status,
            error,
            code,
            description: description.into(),
        }
    }
}

/// Entra's error shape, which azure_identity reads `error_codes` and `error_description` from.
fn entra_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response<Body> {
    debug!(%error, code, "token request refused");
    let trace = random_uuid();
    let correlation = random_uuid();
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!("{description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"),
            "error_codes": [code],
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// The number of an `AADSTSnnnn:` description, which Entra repeats in `error_codes`.
fn aadsts_code(description: &str) -> Option<u32> {
    let digits = description.strip_prefix("AADSTS")?;
    let end = digits.find(|c: char| !c.is_ascii_digit())?;
    digits[..end].parse().ok()
}

/// Why a presented token does not open ARM or the gateway, if it does not.
pub fn check(fake: &Fake, token: &str) -> Result<Identity, TokenProblem> {
    let identity = fake.identity(token).ok_or(TokenProblem::Unknown)?;
    if MANAGEMENT_AUDIENCES.contains(&identity.audience.as_str()) {
        Ok(identity)
    } else {
        Err(TokenProblem::Audience(identity.audience))
    }
}

#[derive(Debug)]
pub enum TokenProblem {
    Unknown,
    Audience(String),
}
