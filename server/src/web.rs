//! The desktop "Manage Access" web page.
//!
//! Static HTML, CSS and plain ES modules, embedded in the binary at build time and served at
//! `/` and `/assets/...`. The page calls the JSON API under `/api/v1` with the bearer token
//! of `POST /api/v1/sessions`; nothing here touches the store, so the router needs no state.
//! The permission labels and descriptions come from [`access_domain::Permission`] through a
//! generated module (`/assets/js/domain.js`), so the article's wording exists once, in Rust.
//!
//! ```no_run
//! # async fn run() {
//! let app = axum::Router::new().merge(access_server::web::router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

use std::sync::LazyLock;

use access_domain::{Permission, UserType};
use axum::{
    Router,
    extract::{Path, Query},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// One embedded file of the page.
struct Asset {
    /// Path under `/assets/`.
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const JSON: &str = "application/json";

/// Every file the page loads, besides `index.html` and the generated `js/domain.js`.
const ASSETS: &[Asset] = &[
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../web/app.css"),
    },
    Asset {
        path: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../web/icon.svg"),
    },
    Asset {
        path: "js/main.js",
        content_type: JS,
        body: include_bytes!("../web/js/main.js"),
    },
    Asset {
        path: "js/api.js",
        content_type: JS,
        body: include_bytes!("../web/js/api.js"),
    },
    Asset {
        path: "js/dom.js",
        content_type: JS,
        body: include_bytes!("../web/js/dom.js"),
    },
    Asset {
        path: "js/manage.js",
        content_type: JS,
        body: include_bytes!("../web/js/manage.js"),
    },
    Asset {
        path: "js/invite.js",
        content_type: JS,
        body: include_bytes!("../web/js/invite.js"),
    },
    Asset {
        path: "js/period.js",
        content_type: JS,
        body: include_bytes!("../web/js/period.js"),
    },
    Asset {
        path: "js/units.js",
        content_type: JS,
        body: include_bytes!("../web/js/units.js"),
    },
    Asset {
        path: "js/user.js",
        content_type: JS,
        body: include_bytes!("../web/js/user.js"),
    },
    Asset {
        path: "js/setup.js",
        content_type: JS,
        body: include_bytes!("../web/js/setup.js"),
    },
    Asset {
        path: "js/locks.js",
        content_type: JS,
        body: include_bytes!("../web/js/locks.js"),
    },
    Asset {
        path: "js/offline.js",
        content_type: JS,
        body: include_bytes!("../web/js/offline.js"),
    },
    Asset {
        path: "js/outbox.js",
        content_type: JS,
        body: include_bytes!("../web/js/outbox.js"),
    },
    Asset {
        path: "js/rights.js",
        content_type: JS,
        body: include_bytes!("../web/js/rights.js"),
    },
];

const INDEX_HTML: &[u8] = include_bytes!("../web/index.html");

/// Where an invitation link leads on a desktop: how to finish in the app, with the code.
const INVITE_HTML: &str = include_str!("../web/invite.html");

/// Scripts and styles only from this origin, no inline code, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The generated module with the domain's labels, built once.
static DOMAIN_JS: LazyLock<Vec<u8>> = LazyLock::new(|| domain_module().into_bytes());

/// The routes of the page: `/` and `/assets/{path}`. Stateless; merge it after
/// `.with_state(state)`.
///
/// ```
/// let app: axum::Router = access_server::web::router();
/// # let _ = app;
/// ```
pub fn router() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/reset-password", get(index))
        .route("/invite", get(invite))
        .route("/invite/{app}", get(invite))
        .route("/assets/{*path}", get(asset))
}

/// What the phones' systems read to let each app open its own invitation links (iOS
/// universal links, Android App Links): `/.well-known/apple-app-site-association` when the
/// Apple team id is configured, `/.well-known/assetlinks.json` when the Android signing
/// certificate's fingerprints are. Each app claims only its own path
/// ([`App::invite_path`](access_domain::App::invite_path)); without the configuration the
/// file is absent (404) rather than naming apps it cannot vouch for.
pub fn app_links(apple_team_id: Option<&str>, android_cert_sha256: &[String]) -> Router {
    let apps = [
        access_domain::App::AccessManager,
        access_domain::App::NokeyResident,
    ];
    let mut router = Router::new();
    if let Some(team) = apple_team_id.map(str::trim).filter(|t| !t.is_empty()) {
        let details: Vec<_> = apps
            .iter()
            .map(|app| {
                serde_json::json!({
                    "appIDs": [format!("{team}.{}", app.package_id())],
                    "components": [{"/": format!("{}*", app.invite_path())}],
                })
            })
            .collect();
        let body = serde_json::json!({"applinks": {"details": details}}).to_string();
        router = router.route(
            "/.well-known/apple-app-site-association",
            get(move || async move { ([(header::CONTENT_TYPE, JSON)], body) }),
        );
    }
    if !android_cert_sha256.is_empty() {
        let statements: Vec<_> = apps
            .iter()
            .map(|app| {
                serde_json::json!({
                    "relation": ["delegate_permission/common.handle_all_urls"],
                    "target": {
                        "namespace": "android_app",
                        "package_name": app.package_id(),
                        "sha256_cert_fingerprints": android_cert_sha256,
                    },
                })
            })
            .collect();
        let body = serde_json::Value::from(statements).to_string();
        router = router.route(
            "/.well-known/assetlinks.json",
            get(move || async move { ([(header::CONTENT_TYPE, JSON)], body) }),
        );
    }
    router
}

async fn index(headers: HeaderMap) -> Response {
    let mut response = cached(&headers, "text/html; charset=utf-8", INDEX_HTML);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The query of an invitation link: `/invite/{app}?token=...` (or the older `/invite?token=...`).
#[derive(serde::Deserialize)]
struct InviteQuery {
    #[serde(default)]
    token: String,
}

/// The landing page of the invitation link (mail clients open it on a desktop too): what to
/// install and the code to enter. The token is only echoed, escaped; nothing is looked up.
async fn invite(Query(q): Query<InviteQuery>) -> Response {
    let token: String = q.token.chars().take(200).collect();
    let html = INVITE_HTML.replace("{{TOKEN}}", &escape_html(&token));
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Escapes text for an HTML attribute or element body.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path == "js/domain.js" {
        return cached(&headers, JS, &DOMAIN_JS);
    }
    match ASSETS.iter().find(|a| a.path == path) {
        Some(a) => cached(&headers, a.content_type, a.body),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":{"code":"not_found","message":"No such file."}}"#,
        )
            .into_response(),
    }
}

/// Answers with `body`, or `304` when the browser already holds this version. The files
/// change only with the binary, so an ETag of the content lets the browser revalidate
/// cheaply while a new release is picked up at once.
fn cached(headers: &HeaderMap, content_type: &'static str, body: &'static [u8]) -> Response {
    let etag = format!("\"{:016x}\"", fnv1a(body));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut response = if fresh {
        status.into_response()
    } else {
        (status, body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// A stable 64-bit FNV-1a hash, for ETags (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The ES module `js/domain.js`: the permissions with the article's labels and
/// descriptions, and the app each user type is invited to.
fn domain_module() -> String {
    let permissions: Vec<_> = Permission::ALL
        .into_iter()
        .map(|p| {
            serde_json::json!({
                "name": p.as_str(),
                "label": p.label(),
                "description": p.description(),
            })
        })
        .collect();
    let apps = serde_json::json!({
        UserType::TeamMember.as_str(): UserType::TeamMember.app().display_name(),
        UserType::Resident.as_str(): UserType::Resident.app().display_name(),
    });
    format!(
        "// Generated by access-server from access-domain; do not edit.\n\
         export const PERMISSIONS = Object.freeze({});\n\
         export const APP_BY_USER_TYPE = Object.freeze({});\n",
        serde_json::Value::Array(permissions),
        apps,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn get_asset(path: &str, headers: HeaderMap) -> Response {
        asset(Path(path.to_owned()), headers).await
    }

    async fn text(response: Response) -> String {
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn index_is_html_with_a_strict_content_security_policy() {
        let response = index(HeaderMap::new()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(
            response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert!(text(response).await.contains("<main"));
    }

    #[tokio::test]
    async fn every_file_the_page_references_is_served() {
        let index = String::from_utf8(INDEX_HTML.to_vec()).unwrap();
        let mut referenced: Vec<String> = [index.as_str(), INVITE_HTML]
            .iter()
            .flat_map(|html| html.split("/assets/").skip(1))
            .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
            .collect();
        // Module imports: `from './x.js'` inside the scripts.
        for a in ASSETS.iter().filter(|a| a.content_type == JS) {
            let src = std::str::from_utf8(a.body).unwrap();
            for part in src.split("from './").skip(1) {
                let name = part.split('\'').next().unwrap_or_default();
                referenced.push(format!("js/{name}"));
            }
        }
        assert!(referenced.len() > ASSETS.len() / 2, "{referenced:?}");
        for path in referenced {
            let response = get_asset(&path, HeaderMap::new()).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }

    #[tokio::test]
    async fn the_invitation_landing_page_shows_the_token_escaped() {
        let q = InviteQuery {
            token: "abc\"><script>x</script>".into(),
        };
        let page = text(invite(Query(q)).await).await;
        assert!(page.contains("value=\"abc&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
        assert!(!page.contains("<script>x"));
        assert!(page.contains("+15551234567"));
    }

    #[tokio::test]
    async fn each_app_claims_only_its_own_invitation_links_once_configured() {
        use tower::ServiceExt;
        let get = |router: Router, path: &'static str| async move {
            let request = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let body = text(response).await;
            (status, body)
        };
        // Nothing configured: nothing claimed.
        let bare = app_links(None, &[]);
        let (status, _) = get(bare.clone(), "/.well-known/apple-app-site-association").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = get(bare, "/.well-known/assetlinks.json").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let fingerprint = "AB:CD".to_string();
        let links = app_links(Some("TEAM123"), std::slice::from_ref(&fingerprint));
        let (status, body) = get(links.clone(), "/.well-known/apple-app-site-association").await;
        assert_eq!(status, StatusCode::OK);
        let aasa: serde_json::Value = serde_json::from_str(&body).unwrap();
        let details = aasa["applinks"]["details"].as_array().unwrap();
        let claims: Vec<(String, String)> = details
            .iter()
            .map(|d| {
                (
                    d["appIDs"][0].as_str().unwrap().to_string(),
                    d["components"][0]["/"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            claims,
            [
                (
                    "TEAM123.com.lockaccess.manager".to_string(),
                    "/invite/access-manager*".to_string()
                ),
                (
                    "TEAM123.com.lockaccess.resident".to_string(),
                    "/invite/nokey-resident*".to_string()
                ),
            ]
        );
        let (status, body) = get(links, "/.well-known/assetlinks.json").await;
        assert_eq!(status, StatusCode::OK);
        let statements: serde_json::Value = serde_json::from_str(&body).unwrap();
        let packages: Vec<&str> = statements
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["target"]["package_name"].as_str().unwrap())
            .collect();
        assert_eq!(
            packages,
            ["com.lockaccess.manager", "com.lockaccess.resident"]
        );
        assert_eq!(
            statements[0]["target"]["sha256_cert_fingerprints"][0],
            "AB:CD"
        );
    }

    #[tokio::test]
    async fn unknown_assets_are_a_json_404() {
        let response = get_asset("../Cargo.toml", HeaderMap::new()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(text(response).await.contains("\"not_found\""));
    }

    #[tokio::test]
    async fn a_matching_etag_gets_304_without_a_body() {
        let first = get_asset("app.css", HeaderMap::new()).await;
        let etag = first.headers()[header::ETAG].clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, etag);
        let again = get_asset("app.css", headers).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(text(again).await.is_empty());
    }

    #[tokio::test]
    async fn the_domain_module_carries_every_permission() {
        let src = text(get_asset("js/domain.js", HeaderMap::new()).await).await;
        for p in Permission::ALL {
            assert!(src.contains(p.label()), "{p}");
            assert!(src.contains(p.description()), "{p}");
        }
        assert!(src.contains("\"team_member\":\"Access Manager\""));
        assert!(src.contains("\"resident\":\"NoKey Resident\""));
    }
}
