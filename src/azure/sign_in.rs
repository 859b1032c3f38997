//! Sign-in failures a user can act on: Entra ID's own error (`invalid_client`, `AADSTS7000215:
//! Invalid client secret provided. …`) quoted as it came, and what to do next.
//!
//! azure_identity 1.0 reads Entra's error body into a borrowed `&str`, which fails on any
//! description holding an escape, and Entra's always do (`\r\nTrace ID: …`): the user then sees
//! "invalid type: string …" or, through the HTTP pipeline, "non-transport error occurred which
//! will not be retried". So [`EntraAnswers`] sits in the credential's pipeline and keeps the
//! token endpoint's last error answer, and [`explain`] quotes it.

use async_trait::async_trait;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request};
use regex::Regex;
use std::error::Error as StdError;
use std::sync::{Arc, LazyLock, Mutex};

/// Entra ID's answer to a refused token request: the OAuth `error` and the first line of
/// `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraAnswer {
    pub error: String,
    pub description: String,
}

/// A pipeline policy that keeps the last error answer of the token endpoint.
#[derive(Debug, Default)]
pub struct EntraAnswers {
    last: Mutex<Option<EntraAnswer>>,
}

impl EntraAnswers {
    /// The answer kept since the last call, if any.
    pub fn take(&self) -> Option<EntraAnswer> {
        self.last.lock().expect("entra answer lock").take()
    }
}

#[async_trait]
impl Policy for EntraAnswers {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let (status, headers, body) = response.deconstruct();
        let bytes = super::body::read_bounded(body, super::body::SMALL_ANSWER_LIMIT)
            .await
            .map_err(|e| azure_core::Error::new(azure_core::error::ErrorKind::Io, e))?;
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(error) = value["error"].as_str()
        {
            let description = value["error_description"]
                .as_str()
                .and_then(|d| d.lines().next())
                .unwrap_or("")
                .trim()
                .to_string();
            *self.last.lock().expect("entra answer lock") = Some(EntraAnswer {
                error: error.to_string(),
                description,
            });
        }
        Ok(AsyncRawResponse::from_bytes(status, headers, bytes))
    }
}

/// Why one credential could not sign in: Entra's error and description when Entra answered,
/// the credential's own message otherwise, and the next step when one is known.
pub fn explain(err: &azure_core::Error, entra: Option<EntraAnswer>) -> String {
    let (error, description) = match entra {
        Some(answer) => (Some(answer.error), answer.description),
        None => (None, plain_message(err)),
    };
    let said = match &error {
        Some(error) => format!("Entra ID answered {error}: {description}"),
        None => description.clone(),
    };
    match next_step(error.as_deref(), &description) {
        Some(next) => format!("{said} What to do: {next}"),
        None => said,
    }
}

/// The innermost message of an error chain: a failed sign-in surfaces through the HTTP
/// pipeline as a wrapper whose own text says nothing about why.
pub fn innermost_message(err: &azure_core::Error) -> String {
    let mut current: &(dyn StdError + 'static) = err;
    while let Some(inner) = current.source() {
        current = inner;
    }
    current.to_string()
}

/// The credential's message on one line, without the SDK's generic troubleshooting link.
fn plain_message(err: &azure_core::Error) -> String {
    err.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("To troubleshoot"))
        .collect::<Vec<_>>()
        .join(" ")
}

static AADSTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"AADSTS(\d+)").expect("valid pattern"));

/// What to do about an Entra error, from its AADSTS code or, failing that, its OAuth error.
fn next_step(error: Option<&str>, description: &str) -> Option<String> {
    let code: Option<u32> = AADSTS.captures(description).and_then(|c| c[1].parse().ok());
    let step = match (code, error) {
        (Some(7000215), _) => {
            "AZURE_CLIENT_SECRET is not the secret's value (or that secret was replaced): use the \
             value shown when the secret was created, not its id, or make a new one with \
             `az ad app credential reset --id $AZURE_CLIENT_ID`."
        }
        (Some(7000222), _) => {
            "the client secret has expired: make a new one with \
             `az ad app credential reset --id $AZURE_CLIENT_ID`."
        }
        (Some(700016), _) => {
            "no application with AZURE_CLIENT_ID is known in tenant AZURE_TENANT_ID: check both \
             (`az ad sp show --id $AZURE_CLIENT_ID`)."
        }
        (Some(90002 | 900023), _) => {
            "the tenant does not exist: check AZURE_TENANT_ID (`az account show --query tenantId`)."
        }
        (Some(500011), _) | (_, Some("invalid_resource" | "invalid_scope")) => {
            "the token audience was refused: check --cloud, --arm-endpoint and --arm-audience \
             (the audience must be the cloud's Resource Manager resource id)."
        }
        (Some(700211..=700213), _) => {
            "the federated token does not match the app: check the issuer and subject of the \
             app's federated identity credential."
        }
        (Some(50076 | 50079 | 50158 | 70043 | 700082), _) => {
            "the sign-in needs to be renewed: run `az login` (with --tenant for this subscription's \
             tenant)."
        }
        (Some(code), _) => {
            return Some(format!(
                "see https://login.microsoftonline.com/error?code={code}."
            ));
        }
        (None, _) => return None,
    };
    Some(step.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_step_follows_the_aadsts_code_then_the_oauth_error() {
        let secret = next_step(
            Some("invalid_client"),
            "AADSTS7000215: Invalid client secret provided.",
        )
        .unwrap();
        assert!(secret.contains("az ad app credential reset"), "{secret}");
        let scope = next_step(Some("invalid_scope"), "The scope is not valid.").unwrap();
        assert!(scope.contains("--arm-audience"), "{scope}");
        let other = next_step(None, "AADSTS123: something").unwrap();
        assert!(other.ends_with("code=123."), "{other}");
        assert_eq!(next_step(None, "az: command not found"), None);
    }
}
