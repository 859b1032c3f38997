//! ARM's long-running operations, polled the way the Azure REST API guidelines describe: a
//! `201`/`202` answer names an operation to watch in `Azure-AsyncOperation` (whose `status`
//! ends as `Succeeded`, `Failed` or `Canceled`) and/or a `Location` that answers `202` until
//! the result is ready. The final result of a PUT is the resource itself; of a POST, what its
//! `Location` answers; a DELETE has none.

use super::arm::{ArmClient, ArmError, Reply};
use azure_core::http::{Method, Url};
use serde_json::Value;
use std::time::Duration;

/// The longest wait between two polls, whatever `Retry-After` says.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);
/// The shortest wait between two polls (`Retry-After: 0` must not spin).
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The wait between polls when Azure names none.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

impl ArmClient {
    /// Starts an operation at an ARM path and waits (at most `limit`) for its result.
    pub async fn long_running(
        &self,
        method: Method,
        path: &str,
        api: &str,
        body: Option<Value>,
        what: &str,
        limit: Duration,
    ) -> Result<Value, ArmError> {
        let url = self.api_url(path, api, what)?;
        let first = self.request(method, url.clone(), body, what).await?;
        tokio::time::timeout(limit, self.finish(method, url, first, what))
            .await
            .unwrap_or_else(|_| {
                Err(ArmError::Transport {
                    what: what.to_string(),
                    message: format!(
                        "Azure had not finished after {} s; the operation may still complete \
                         (see the VM's activity log)",
                        limit.as_secs()
                    ),
                })
            })
    }

    async fn finish(
        &self,
        method: Method,
        url: Url,
        first: Reply,
        what: &str,
    ) -> Result<Value, ArmError> {
        let pending = first.async_operation.is_some() || first.status == 202;
        if !pending {
            return Ok(first.value);
        }
        let mut wait = interval(first.retry_after);
        if let Some(operation) = &first.async_operation {
            let operation = self.absolute(operation, what)?;
            loop {
                tokio::time::sleep(wait).await;
                let reply = self
                    .request(Method::Get, operation.clone(), None, what)
                    .await?;
                wait = interval(reply.retry_after);
                match reply.value["status"].as_str().unwrap_or("InProgress") {
                    s if s.eq_ignore_ascii_case("Succeeded") => break,
                    s if s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled") => {
                        let error = &reply.value["error"];
                        return Err(ArmError::Http {
                            what: what.to_string(),
                            status: 200,
                            code: error["code"].as_str().unwrap_or(s).to_string(),
                            message: error["message"]
                                .as_str()
                                .unwrap_or("the operation did not succeed")
                                .to_string(),
                            hint: String::new(),
                        });
                    }
                    _ => continue,
                }
            }
            return match (method, &first.location) {
                (Method::Put | Method::Patch, _) => {
                    Ok(self.request(Method::Get, url, None, what).await?.value)
                }
                (Method::Post, Some(location)) => {
                    let location = self.absolute(location, what)?;
                    Ok(self.request(Method::Get, location, None, what).await?.value)
                }
                _ => Ok(Value::Null),
            };
        }
        // Only a Location: it answers 202 until the result is there.
        let Some(location) = &first.location else {
            return Ok(first.value);
        };
        let location = self.absolute(location, what)?;
        loop {
            tokio::time::sleep(wait).await;
            let reply = self
                .request(Method::Get, location.clone(), None, what)
                .await?;
            if reply.status != 202 {
                return Ok(reply.value);
            }
            wait = interval(reply.retry_after);
        }
    }

    fn absolute(&self, url: &str, what: &str) -> Result<Url, ArmError> {
        Url::parse(url).map_err(|e| ArmError::Transport {
            what: what.to_string(),
            message: format!("Azure named an operation URL that is not a URL ({url:?}): {e}"),
        })
    }
}

fn interval(retry_after: Option<u64>) -> Duration {
    retry_after
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_POLL_INTERVAL)
        .clamp(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL)
}
