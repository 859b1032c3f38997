//! Which Azure: the public cloud, a sovereign cloud, or a custom one such as Azure Stack Hub.

use azure_core::http::Url;

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
