//! `GET /metadata/endpoints?api-version=…`: how a cloud describes itself to `az cloud register
//! --endpoint-resource-manager`. The shape is Resource Manager's (public Azure answers the same
//! keys); the sign-in endpoint is the fake itself, and the first audience is one the fake's ARM
//! accepts, so a client that follows the answer signs in and is let in.

use crate::http::{Body, json_response};
use crate::state::Fake;
use hyper::{Method, Response, StatusCode};
use serde_json::json;

pub fn handle(fake: &Fake, method: &Method) -> Response<Body> {
    if method != Method::GET {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": {"code": "MethodNotAllowed", "message": "use GET"}}),
        );
    }
    let base = &fake.base_url;
    json_response(
        StatusCode::OK,
        &json!({
            "galleryEndpoint": format!("{base}/gallery/"),
            "graphEndpoint": "https://graph.windows.net/",
            "portalEndpoint": format!("{base}/portal/"),
            "authentication": {
                "loginEndpoint": format!("{base}/"),
                "audiences": [
                    "https://management.core.windows.net/",
                    "https://management.azure.com/"
                ]
            }
        }),
    )
}
