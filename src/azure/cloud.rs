//! Which Azure: the public cloud, a sovereign cloud, or a custom one such as Azure Stack Hub.
//!
//! A custom cloud named only by its Resource Manager endpoint describes itself at
//! `{endpoint}/metadata/endpoints`, which `az cloud register --endpoint-resource-manager` reads
//! for the token audience (`authentication.audiences[0]`) and the sign-in endpoint
//! (`authentication.loginEndpoint`); [`Cloud::discover`] does the same.

use azure_core::http::{Method, Request, Url, new_http_client};

/// The metadata API version az asks for.
const METADATA_API: &str = "2015-01-01";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// The Resource Manager endpoint, e.g. `https://management.azure.com/`.
    pub arm_endpoint: Url,
    /// The token audience for ARM.
    pub scope: String,
    /// Entra ID authority for this cloud; `None` keeps azure_identity's own choice
    /// (`AZURE_AUTHORITY_HOST`, then the public cloud).
    pub authority_host: Option<String>,
}

impl Cloud {
    /// A cloud by its Azure CLI name, or a custom ARM endpoint (which wins).
    pub fn resolve(name: &str, arm_endpoint: Option<&str>) -> Result<Cloud, String> {
        if let Some(endpoint) = arm_endpoint {
            let url = Url::parse(endpoint)
                .map_err(|e| format!("--arm-endpoint {endpoint:?} is not a URL: {e}"))?;
            if url.scheme() != "https" {
                return Err(format!("--arm-endpoint {endpoint:?} must use https"));
            }
            let scope = format!("{}/.default", url.as_str().trim_end_matches('/'));
            return Ok(Cloud {
                arm_endpoint: url,
                scope,
                authority_host: std::env::var("AZURE_AUTHORITY_HOST").ok(),
            });
        }
        let (arm, authority) = match name.to_ascii_lowercase().as_str() {
            "azurecloud" => (
                "https://management.azure.com/",
                "https://login.microsoftonline.com",
            ),
            "azureusgovernment" => (
                "https://management.usgovcloudapi.net/",
                "https://login.microsoftonline.us",
            ),
            "azurechinacloud" => (
                "https://management.chinacloudapi.cn/",
                "https://login.chinacloudapi.cn",
            ),
            other => {
                return Err(format!(
                    "unknown cloud {other:?}: use AzureCloud, AzureUSGovernment or AzureChinaCloud, \
                     or --arm-endpoint URL for a custom cloud"
                ));
            }
        };
        Ok(Cloud {
            arm_endpoint: Url::parse(arm).expect("built-in endpoint"),
            scope: format!("{arm}.default"),
            authority_host: Some(
                std::env::var("AZURE_AUTHORITY_HOST").unwrap_or_else(|_| authority.to_string()),
            ),
        })
    }
}

impl Cloud {
    /// Fills in the audience and, unless AZURE_AUTHORITY_HOST is set, the sign-in endpoint of a
    /// custom cloud from its metadata.
    pub async fn discover(&mut self) -> Result<(), String> {
        let mut url = self
            .arm_endpoint
            .join("metadata/endpoints")
            .map_err(|e| format!("bad --arm-endpoint: {e}"))?;
        url.query_pairs_mut()
            .append_pair("api-version", METADATA_API);
        let failed = |why: String| {
            format!(
                "could not read the cloud's metadata at {url}: {why}; pass --arm-audience (the \
                 cloud's \"active directory resource id\") to skip this"
            )
        };
        let mut request = Request::new(url.clone(), Method::Get);
        request.insert_header("accept", "application/json");
        let response = new_http_client(None)
            .execute_request(&request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        let body = super::body::read_bounded(response.into_body(), super::body::SMALL_ANSWER_LIMIT)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}")));
        }
        let metadata: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))?;
        let auth = &metadata["authentication"];
        let audience = auth["audiences"][0]
            .as_str()
            .ok_or_else(|| failed("no authentication.audiences".into()))?;
        self.scope = format!("{}/.default", audience.trim_end_matches('/'));
        if std::env::var_os("AZURE_AUTHORITY_HOST").is_none()
            && let Some(login) = auth["loginEndpoint"].as_str()
        {
            self.authority_host = Some(login.trim_end_matches('/').to_string());
        }
        Ok(())
    }
}

/// The serial-console gateways of each cloud, by host suffix (`<region>.gateway.serialconsole.azure.com`;
/// `*.serialconsole.azure.us` in US Government, as Azure's serial console troubleshooting
/// article names them). `None`: Azure documents no serial console there (its overview lists no
/// region of Azure operated by 21Vianet), so no host of that cloud is trusted with the token.
const GATEWAYS: &[(&str, Option<&str>)] = &[
    (
        "management.azure.com",
        Some(".gateway.serialconsole.azure.com"),
    ),
    (
        "management.usgovcloudapi.net",
        Some(".serialconsole.azure.us"),
    ),
    ("management.chinacloudapi.cn", None),
];

impl Cloud {
    /// Whether `host` (from ARM's `connectionString`) is a serial-console gateway of this
    /// cloud: the ARM token goes to it, so a host anyone else runs must never be one. A
    /// custom cloud's gateways are the hosts under its Resource Manager's parent domain
    /// (`management.local.azurestack.external` → `*.local.azurestack.external`).
    pub fn is_gateway(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let Some(arm) = self.arm_endpoint.host_str() else {
            return false;
        };
        let suffix = match self.listed_gateway() {
            Some(Some(suffix)) => suffix.to_string(),
            Some(None) => return false,
            None => match arm.split_once('.') {
                Some((_, parent)) if parent.contains('.') && ip(arm).is_none() => {
                    format!(".{parent}")
                }
                _ => return fake_gateway(arm, &host),
            },
        };
        host.len() > suffix.len() && host.ends_with(&suffix)
    }

    /// Whether Azure documents no serial-console gateway for this cloud at all.
    pub fn has_no_documented_gateway(&self) -> bool {
        self.listed_gateway() == Some(None)
    }

    /// This cloud's row of [`GATEWAYS`]: `None` for a cloud not listed (a custom one).
    fn listed_gateway(&self) -> Option<Option<&'static str>> {
        let arm = self.arm_endpoint.host_str()?;
        GATEWAYS.iter().find(|(a, _)| *a == arm).map(|(_, g)| *g)
    }
}

/// `host` as an IP address, when it is one (`[::1]` as URLs write it included).
fn ip(host: &str) -> Option<std::net::IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The one test-only allowance: the fake Azure serves ARM and the gateway on one loopback
/// address, and only builds with the `fake-azure` feature (tests, the demo) accept that; a
/// release build refuses it like any other host.
#[cfg(feature = "fake-azure")]
fn fake_gateway(arm: &str, host: &str) -> bool {
    ip(arm).is_some_and(|a| a.is_loopback()) && arm == host
}

#[cfg(not(feature = "fake-azure"))]
fn fake_gateway(_arm: &str, _host: &str) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sovereign_clouds_have_their_own_endpoint_and_scope() {
        let gov = Cloud::resolve("AzureUSGovernment", None).unwrap();
        assert_eq!(
            gov.arm_endpoint.as_str(),
            "https://management.usgovcloudapi.net/"
        );
        assert_eq!(gov.scope, "https://management.usgovcloudapi.net/.default");
        let public = Cloud::resolve("azurecloud", None).unwrap();
        assert_eq!(public.scope, "https://management.azure.com/.default");
    }

    #[test]
    fn a_custom_endpoint_wins_and_must_be_https() {
        let stack = Cloud::resolve(
            "AzureCloud",
            Some("https://management.local.azurestack.external"),
        )
        .unwrap();
        assert_eq!(
            stack.scope,
            "https://management.local.azurestack.external/.default"
        );
        assert!(Cloud::resolve("AzureCloud", Some("http://x")).is_err());
        assert!(Cloud::resolve("Mars", None).is_err());
    }

    #[test]
    fn the_token_goes_only_to_a_gateway_of_the_cloud_in_use() {
        let public = Cloud::resolve("AzureCloud", None).unwrap();
        assert!(public.is_gateway("eastus.gateway.serialconsole.azure.com"));
        assert!(public.is_gateway("WestEurope.Gateway.SerialConsole.Azure.com"));
        for foreign in [
            "gateway.serialconsole.azure.com.evil.example",
            "evilgateway.serialconsole.azure.com",
            ".gateway.serialconsole.azure.com",
            "eastus.serialconsole.azure.us",
            "127.0.0.1",
            "attacker.example",
        ] {
            assert!(!public.is_gateway(foreign), "{foreign}");
        }
        let gov = Cloud::resolve("AzureUSGovernment", None).unwrap();
        assert!(gov.is_gateway("usgovvirginia.serialconsole.azure.us"));
        assert!(!gov.is_gateway("eastus.gateway.serialconsole.azure.com"));
        let china = Cloud::resolve("AzureChinaCloud", None).unwrap();
        assert!(china.has_no_documented_gateway());
        assert!(!public.has_no_documented_gateway());
        for guessed in [
            "chinaeast2.gateway.serialconsole.azure.cn",
            "chinaeast2.serialconsole.azure.cn",
            "console.chinacloudapi.cn",
        ] {
            assert!(!china.is_gateway(guessed), "{guessed}");
        }
        let stack = Cloud::resolve(
            "AzureCloud",
            Some("https://management.local.azurestack.external"),
        )
        .unwrap();
        assert!(stack.is_gateway("console.local.azurestack.external"));
        assert!(!stack.is_gateway("local.azurestack.external.evil"));
        let bare = Cloud::resolve("AzureCloud", Some("https://arm.example")).unwrap();
        assert!(
            !bare.is_gateway("gw.example"),
            "a parent domain of one label is no cloud's own"
        );
    }

    /// The fake Azure's gateway (its own loopback address) passes only in builds with the
    /// fake, and only for the address its ARM endpoint has.
    #[test]
    fn the_fakes_loopback_gateway_passes_only_with_the_fake_built_in() {
        let fake = Cloud::resolve("AzureCloud", Some("https://127.0.0.1:4433")).unwrap();
        assert_eq!(fake.is_gateway("127.0.0.1"), cfg!(feature = "fake-azure"));
        assert!(!fake.is_gateway("127.0.0.2"));
        assert!(!fake.is_gateway("attacker.example"));
    }
}
