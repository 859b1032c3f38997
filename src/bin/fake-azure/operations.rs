//! Long-running operations as ARM's asynchronous pattern has them: the first answer is `201`
//! or `202` with `Azure-AsyncOperation` (a status resource that says `InProgress`, then
//! `Succeeded`) and, for a POST or DELETE, `Location` (which answers `202` until the result is
//! ready, then the result). Every operation stays in progress for one poll, so a client that
//! takes the first answer for the result is caught.

use crate::http::{Body, cloud_error, json_response};
use crate::state::{Fake, random_uuid};
use hyper::header::{HeaderValue, LOCATION, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

/// What the poller sees.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Polls of either URL still answered "in progress".
    pub pending_polls: u32,
    /// The final answer of `Location` (`None`: 204 with no body).
    pub result: Option<Value>,
    /// Why the operation failed (ARM's `error` object), if it did.
    pub error: Option<Value>,
}

impl Operation {
    fn pending(pending_polls: u32, result: Option<Value>) -> Operation {
        Operation {
            pending_polls,
            result,
            error: None,
        }
    }
}

/// Stays in progress until [`finish`] is called (work the fake does in the background).
const UNTIL_FINISHED: u32 = u32::MAX;

/// Which provider's operation URLs to hand out (they live under the provider, by location).
#[derive(Debug, Clone, Copy)]
pub enum Provider {
    Compute,
    Network,
}

impl Provider {
    fn namespace(self) -> &'static str {
        match self {
            Provider::Compute => "Microsoft.Compute",
            Provider::Network => "Microsoft.Network",
        }
    }
}

/// How the operation's first answer looks.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// A PUT: `201` with the resource as it is being created, and `Azure-AsyncOperation`.
    Created,
    /// A POST or DELETE: `202` with no body, `Azure-AsyncOperation` and `Location`.
    Accepted,
}

/// Registers an operation and gives its first answer.
pub fn start(
    fake: &Fake,
    sub: &str,
    api_version: &str,
    provider: Provider,
    start: Start,
    body: Option<Value>,
    result: Option<Value>,
) -> Response<Body> {
    let operation = Operation::pending(1, result);
    begin(fake, sub, api_version, provider, start, body, operation).1
}

/// [`start`] for work already done or failed when the first answer goes out: the operation
/// still stays in progress for one poll, then reports `outcome` (a result or ARM's `error`).
pub fn start_ended(
    fake: &Fake,
    sub: &str,
    api_version: &str,
    provider: Provider,
    start: Start,
    outcome: Result<Option<Value>, Value>,
) -> Response<Body> {
    let mut operation = Operation::pending(1, None);
    match outcome {
        Ok(result) => operation.result = result,
        Err(error) => operation.error = Some(error),
    }
    begin(fake, sub, api_version, provider, start, None, operation).1
}

/// Registers an operation that stays in progress until [`finish`] names its id.
pub fn start_unfinished(
    fake: &Fake,
    sub: &str,
    api_version: &str,
    provider: Provider,
    start: Start,
    body: Option<Value>,
) -> (String, Response<Body>) {
    let operation = Operation::pending(UNTIL_FINISHED, None);
    begin(fake, sub, api_version, provider, start, body, operation)
}

/// Ends an operation from [`start_unfinished`] with its result or ARM's `error` object.
pub fn finish(fake: &Fake, id: &str, outcome: Result<Option<Value>, Value>) {
    if let Some(op) = fake.world().operations.get_mut(id) {
        op.pending_polls = 0;
        match outcome {
            Ok(result) => op.result = result,
            Err(error) => op.error = Some(error),
        }
    }
}

fn begin(
    fake: &Fake,
    sub: &str,
    api_version: &str,
    provider: Provider,
    start: Start,
    body: Option<Value>,
    operation: Operation,
) -> (String, Response<Body>) {
    let id = random_uuid();
    fake.world().operations.insert(id.clone(), operation);
    let base = format!(
        "{}/subscriptions/{sub}/providers/{}/locations/{}",
        fake.base_url,
        provider.namespace(),
        crate::arm::LOCATION
    );
    let (status, body) = match start {
        Start::Created => (StatusCode::CREATED, body.unwrap_or(Value::Null)),
        Start::Accepted => (StatusCode::ACCEPTED, Value::Null),
    };
    let mut response = if body.is_null() {
        crate::http::empty_response(status)
    } else {
        json_response(status, &body)
    };
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set(
        "azure-asyncoperation",
        format!("{base}/operations/{id}?api-version={api_version}"),
    );
    if matches!(start, Start::Accepted) {
        set(
            LOCATION.as_str(),
            format!("{base}/operationResults/{id}?api-version={api_version}"),
        );
    }
    set(RETRY_AFTER.as_str(), "1".into());
    (id, response)
}

/// `GET …/locations/{l}/operations/{id}` (status) or `…/operationResults/{id}` (result).
pub fn poll(fake: &Fake, id: &str, result: bool) -> Response<Body> {
    let mut w = fake.world();
    let Some(op) = w.operations.get_mut(id) else {
        return cloud_error(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            &format!("The operation '{id}' could not be found."),
        );
    };
    let done = op.pending_polls == 0;
    if op.pending_polls != UNTIL_FINISHED {
        op.pending_polls = op.pending_polls.saturating_sub(1);
    }
    let mut response = match (done, result) {
        (false, false) => json_response(StatusCode::OK, &json!({"status": "InProgress"})),
        (false, true) => crate::http::empty_response(StatusCode::ACCEPTED),
        (true, false) => match &op.error {
            Some(error) => {
                json_response(StatusCode::OK, &json!({"status": "Failed", "error": error}))
            }
            None => json_response(StatusCode::OK, &json!({"status": "Succeeded"})),
        },
        (true, true) if op.error.is_some() => {
            let error = op.error.clone().unwrap_or_default();
            json_response(StatusCode::OK, &json!({"status": "Failed", "error": error}))
        }
        (true, true) => match &op.result {
            Some(v) => json_response(StatusCode::OK, v),
            None => crate::http::empty_response(StatusCode::NO_CONTENT),
        },
    };
    if !done {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}
