//! The one HTTPS listener's request handling: route by path, answer JSON, record the request.
//!
//! Azure's three front doors (the token authority, ARM and the serial-console gateway) share one
//! port here, because the gateway URL ARM hands out is absolute and a client must be able to
//! trust one CA for all of them.

use crate::state::{Failure, Fake};
use crate::{arm, control, gateway, metadata, token};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use tracing::debug;

pub type Body = Full<Bytes>;

/// Largest request body the fake reads.
const MAX_BODY: usize = 1 << 20;

pub async fn handle(fake: Arc<Fake>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let method = req.method().to_string();
    // The path only: a legacy client puts its token in the query string.
    let path = req.uri().path().to_owned();
    let response = route(&fake, req).await;
    debug!(%method, %path, status = response.status().as_u16(), "request");
    fake.record_request(&method, &path, response.status().as_u16());
    Ok(response)
}

async fn route(fake: &Arc<Fake>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path();
    if path.starts_with("/fake/") {
        control::handle(fake, req).await
    } else if path.starts_with("/fake-storage/") {
        crate::resources::serve_blob(fake, path, req.uri().query().unwrap_or(""))
    } else if path.starts_with("/n/connector/") {
        gateway::handle(fake, req).await
    } else if path
        .get(..15)
        .is_some_and(|p| p.eq_ignore_ascii_case("/subscriptions/"))
    {
        arm::handle(fake, req).await
    } else if path == "/metadata/endpoints" {
        metadata::handle(fake, req.method())
    } else if path.ends_with("/oauth2/v2.0/token") {
        token::handle(fake, req).await
    } else {
        json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": {"code": "NotFound", "message": format!("fake-azure serves no {path}")}}),
        )
    }
}

/// Reads a request body (bounded).
pub async fn read_body(body: Incoming) -> Result<Bytes, Response<Body>> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(cloud_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            &format!("could not read the request body: {e}"),
        )),
    }
}

pub fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// ARM's error shape: `{"error":{"code","message"}}`.
pub fn cloud_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

/// An ARM error on its way to becoming a response: small, so `Result`s carrying it stay cheap.
#[derive(Debug)]
pub struct CloudError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl CloudError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> CloudError {
        CloudError {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<CloudError> for Response<Body> {
    fn from(e: CloudError) -> Self {
        cloud_error(e.status, &e.code, &e.message)
    }
}

/// The answer for an injected failure, in ARM's shape unless the route has its own.
pub fn failure_response(
    failure: &Failure,
    default_code: &str,
    default_message: &str,
) -> Response<Body> {
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = failure.code.as_deref().unwrap_or(default_code);
    let message = failure.message.as_deref().unwrap_or(default_message);
    let mut response = cloud_error(status, code, message);
    if let Some(secs) = failure.retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The default code and message for an injected ARM failure of a given status.
/// `client` is who the token was issued to (client id, object id).
pub fn default_arm_failure(
    status: u16,
    action: &str,
    scope: &str,
    client: (&str, &str),
) -> (String, String) {
    let (client_id, object_id) = client;
    let (code, message) = match status {
        400 => (
            "BadRequest",
            "Provisioning for this VM has not yet succeeded. Please ensure the VM is fully deployed and retry the serial console connection.".to_owned(),
        ),
        403 => (
            "AuthorizationFailed",
            format!(
                "The client '{client_id}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            ),
        ),
        404 => ("ResourceNotFound", format!("The Resource '{scope}' was not found.")),
        409 => (
            "ScopeLocked",
            format!(
                "The scope '{scope}' cannot perform write operation because following scope(s) are locked: '{scope}'. Please remove the lock and try again."
            ),
        ),
        429 => (
            "TooManyRequests",
            "The request is being throttled. Retry after the time the Retry-After header gives.".to_owned(),
        ),
        503 => ("ServiceUnavailable", "The service is temporarily unavailable.".to_owned()),
        _ => ("InternalServerError", "An internal error occurred (injected by fake-azure).".to_owned()),
    };
    (code.to_owned(), message)
}

/// Splits a request path into decoded segments. `%2F` is decoded before splitting, because az
/// sends a scale-set instance as one quoted segment (`myvmss%2FvirtualMachines%2F2`) while other
/// clients send literal slashes: both must reach the same route. Names never contain `/`.
pub fn segments(path: &str) -> Vec<String> {
    let unslashed = path.replace("%2F", "/").replace("%2f", "/");
    unslashed
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query's parameters, decoded.
pub fn query_pairs(req: &Request<Incoming>) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The bearer token of an `Authorization` header, if there is one.
pub fn bearer(req: &Request<Incoming>) -> Option<String> {
    let value = req
        .headers()
        .get(hyper::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_decode_slashes_and_escapes() {
        assert_eq!(
            segments("/a/ss%2FvirtualMachines%2F2/p%20q/"),
            ["a", "ss", "virtualMachines", "2", "p q"]
        );
        assert_eq!(segments("/x%zz%4"), ["x%zz%4"]);
    }
}
