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
        let body = response
            .into_body()
            .collect()
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
}
