//! Getting an ARM token: an explicit method, or a chain in the order of Azure's
//! DefaultAzureCredential (which azure_identity 1.0 no longer has): environment client secret,
//! workload identity, managed identity, Azure CLI, Azure Developer CLI.
//!
//! The chain remembers the first credential that worked. When none works, the error names each
//! one that was tried and why it failed (Entra ID's own error and what to do, see [`sign_in`]),
//! so the user knows what to set up. The Azure CLI credential asks for the subscription's
//! tenant when the subscription is known, as `az account get-access-token --subscription` does.

use super::cloud::Cloud;
use super::sign_in;
use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::ClientOptions;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMethod {
    /// Try each method below in turn (like DefaultAzureCredential).
    #[default]
    Auto,
    /// AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET.
    ClientSecret,
    /// AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE.
    WorkloadIdentity,
    /// The VM's or App Service's managed identity (AZURE_CLIENT_ID for a user-assigned one).
    ManagedIdentity,
    /// `az login`.
    Cli,
    /// `azd auth login`.
    Azd,
}

impl AuthMethod {
    const CHAIN: [AuthMethod; 5] = [
        AuthMethod::ClientSecret,
        AuthMethod::WorkloadIdentity,
        AuthMethod::ManagedIdentity,
        AuthMethod::Cli,
        AuthMethod::Azd,
    ];

    fn name(self) -> &'static str {
        match self {
            AuthMethod::Auto => "auto",
            AuthMethod::ClientSecret => "client secret (environment)",
            AuthMethod::WorkloadIdentity => "workload identity",
            AuthMethod::ManagedIdentity => "managed identity",
            AuthMethod::Cli => "Azure CLI",
            AuthMethod::Azd => "Azure Developer CLI",
        }
    }
}

/// Builds the credential for `method` in `cloud`, for `subscription` when it is known.
pub fn credential(
    method: AuthMethod,
    cloud: &Cloud,
    subscription: Option<&str>,
) -> Arc<dyn TokenCredential> {
    Arc::new(Chain {
        methods: match method {
            AuthMethod::Auto => AuthMethod::CHAIN.to_vec(),
            one => vec![one],
        },
        cloud: cloud.clone(),
        subscription: subscription.map(str::to_owned),
        chosen: Mutex::new(None),
    })
}

#[derive(Debug)]
struct Chain {
    methods: Vec<AuthMethod>,
    cloud: Cloud,
    subscription: Option<String>,
    chosen: Mutex<Option<Chosen>>,
}

/// The credential that signed in first, kept for every later token, with the policy that
/// keeps Entra's answers to its requests.
#[derive(Debug, Clone)]
struct Chosen {
    method: AuthMethod,
    credential: Arc<dyn TokenCredential>,
    answers: Arc<sign_in::EntraAnswers>,
}

impl Chosen {
    /// A token renewed by the credential that signed in; a refusal is explained as the first
    /// sign-in's would be (a secret can expire or be replaced during a long rescue).
    async fn renew(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.credential
            .get_token(scopes, options)
            .await
            .map_err(|e| {
                let why = sign_in::explain(&e, self.answers.take());
                azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    format!(
                        "the {} credential signed in, then could not renew its token: {why}",
                        self.method.name()
                    ),
                )
            })
    }
}

#[async_trait]
impl TokenCredential for Chain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let chosen = self.chosen.lock().expect("credential lock").clone();
        if let Some(chosen) = chosen {
            return chosen.renew(scopes, options).await;
        }
        let mut failures = Vec::new();
        for &method in &self.methods {
            let answers = Arc::new(sign_in::EntraAnswers::default());
            let attempt = match build(method, &self.cloud, self.subscription.as_deref(), &answers) {
                Ok(credential) => match credential.get_token(scopes, options.clone()).await {
                    Ok(token) => {
                        tracing::info!(method = method.name(), "authenticated");
                        *self.chosen.lock().expect("credential lock") = Some(Chosen {
                            method,
                            credential,
                            answers,
                        });
                        return Ok(token);
                    }
                    Err(e) => sign_in::explain(&e, answers.take()),
                },
                Err(why) => why,
            };
            failures.push((method, attempt));
        }
        let message = match failures.as_slice() {
            [(method, why)] => format!(
                "could not sign in to Azure with the {} credential: {why}",
                method.name()
            ),
            _ => format!(
                "no Azure credential worked. Tried:\n{}\nLog in with `az login`, or set \
                 AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or choose one with --auth.",
                failures
                    .iter()
                    .map(|(method, why)| format!("  {}: {why}", method.name()))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            message,
        ))
    }
}

/// Options for a credential that calls Entra ID itself: this cloud's authority, and the policy
/// that keeps Entra's error answers.
fn client_options(cloud: &Cloud, answers: &Arc<sign_in::EntraAnswers>) -> ClientOptions {
    let mut options = ClientOptions::default();
    options.per_try_policies.push(answers.clone());
    if let Some(host) = &cloud.authority_host {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = host.clone();
        options.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
    }
    options
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// One credential, or why it cannot even be built (missing settings).
fn build(
    method: AuthMethod,
    cloud: &Cloud,
    subscription: Option<&str>,
    answers: &Arc<sign_in::EntraAnswers>,
) -> Result<Arc<dyn TokenCredential>, String> {
    let built: azure_core::Result<Arc<dyn TokenCredential>> = match method {
        AuthMethod::ClientSecret => {
            let (tenant, client, secret) = (
                env("AZURE_TENANT_ID")?,
                env("AZURE_CLIENT_ID")?,
                env("AZURE_CLIENT_SECRET")?,
            );
            let options = ClientSecretCredentialOptions {
                client_options: client_options(cloud, answers),
            };
            ClientSecretCredential::new(&tenant, client, Secret::new(secret), Some(options))
                .map(|c| c as Arc<dyn TokenCredential>)
        }
        AuthMethod::WorkloadIdentity => {
            env("AZURE_FEDERATED_TOKEN_FILE")?;
            let mut options = WorkloadIdentityCredentialOptions::default();
            options.credential_options.client_options = client_options(cloud, answers);
            WorkloadIdentityCredential::new(Some(options)).map(|c| c as Arc<dyn TokenCredential>)
        }
        AuthMethod::ManagedIdentity => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: std::env::var("AZURE_CLIENT_ID")
                    .ok()
                    .map(azure_identity::UserAssignedId::ClientId),
                ..Default::default()
            };
            ManagedIdentityCredential::new(Some(options)).map(|c| c as Arc<dyn TokenCredential>)
        }
        AuthMethod::Cli => {
            let options = AzureCliCredentialOptions {
                subscription: subscription.map(str::to_owned),
                ..Default::default()
            };
            AzureCliCredential::new(Some(options)).map(|c| c as Arc<dyn TokenCredential>)
        }
        AuthMethod::Azd => {
            AzureDeveloperCliCredential::new(None).map(|c| c as Arc<dyn TokenCredential>)
        }
        AuthMethod::Auto => unreachable!("the chain is expanded before building"),
    };
    built.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn when_nothing_works_the_error_names_each_method_and_why() {
        let cloud = Cloud::resolve("AzureCloud", None).unwrap();
        let chain = Chain {
            methods: vec![AuthMethod::ClientSecret, AuthMethod::WorkloadIdentity],
            cloud,
            subscription: None,
            chosen: Mutex::new(None),
        };
        if std::env::var_os("AZURE_CLIENT_SECRET").is_some() {
            return; // a real service principal is configured here; nothing to learn
        }
        let err = chain
            .get_token(&["https://management.azure.com/.default"], None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("client secret (environment): AZURE_"), "{err}");
        assert!(err.contains("workload identity: AZURE_"), "{err}");
        assert!(err.contains("az login"), "{err}");
    }
}
