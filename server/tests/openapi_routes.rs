//! The OpenAPI document lists exactly the routes the server serves under `/api/v1`: the
//! router's table and the served document hold the same (method, path) pairs, and each
//! documented pair reaches a handler rather than the router's 404 or 405 fallback.

mod common;

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

type Routes = BTreeSet<(Method, String)>;

/// The HTTP methods an OpenAPI path item can hold.
const METHODS: [Method; 8] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::DELETE,
    Method::OPTIONS,
    Method::HEAD,
    Method::PATCH,
    Method::TRACE,
];

fn served() -> Routes {
    access_server::api::endpoints()
        .iter()
        .map(|e| (e.method.clone(), e.path.to_string()))
        .filter(|(_, p)| p.starts_with("/api/v1/"))
        .collect()
}

fn documented(doc: &Value) -> Routes {
    let paths = doc["paths"].as_object().expect("the document has paths");
    paths
        .iter()
        .filter(|(p, _)| p.starts_with("/api/v1/"))
        .flat_map(|(p, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(m.as_str().to_ascii_lowercase()).is_some())
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect()
}

/// Whether an answer is one of the router's fallbacks rather than a handler's.
fn fallback(a: &common::Answer) -> bool {
    (a.status == StatusCode::NOT_FOUND && a.message() == "No such API route.")
        || (a.status == StatusCode::METHOD_NOT_ALLOWED && a.code() == "method_not_allowed")
}

#[tokio::test]
async fn the_document_lists_exactly_the_served_routes() {
    let t = common::start().await;
    let doc = t
        .api
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    let (documented, served) = (documented(&doc.body), served());
    assert!(!served.is_empty());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served, not documented: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(unserved.is_empty(), "documented, not served: {unserved:?}");

    // Each documented route reaches its handler (without a token or body it refuses, but
    // in its own words), so the table is the router's.
    let some_id = uuid::Uuid::new_v4().to_string();
    for (method, path) in &documented {
        let path = path
            .replace("{id}", &some_id)
            .replace("{code_id}", &some_id);
        let a = t.api.call(method.clone(), &path, None, None).await;
        assert!(!fallback(&a), "{method} {path} is not routed: {a:?}");
    }
    // The fallbacks are what the check above would see for a route the router lacks.
    let unknown = t.api.call(Method::GET, "/api/v1/nothing", None, None).await;
    assert!(fallback(&unknown), "{unknown:?}");
    let wrong = t.api.call(Method::DELETE, "/api/v1/me", None, None).await;
    assert!(fallback(&wrong), "{wrong:?}");
    t.server.shutdown().await;
}
