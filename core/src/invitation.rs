//! Reading the invitation token out of whatever the user pasted or tapped: the whole link
//! from the email, a query string, or the bare token.

use reqwest::Url;

use crate::AccessError;

const MIN_LEN: usize = 16;
const MAX_LEN: usize = 256;

fn invalid(message: &str) -> AccessError {
    AccessError::InvitationInvalid {
        message: message.into(),
    }
}

fn check_token(t: &str) -> Result<String, AccessError> {
    if t.is_empty() {
        return Err(invalid(
            "The invitation link has no token: paste the whole link from the email.",
        ));
    }
    if t.len() < MIN_LEN || t.len() > MAX_LEN {
        return Err(invalid(
            "This invitation token has the wrong length: paste the whole link from the email.",
        ));
    }
    // Tokens are URL-safe base64 or hex.
    if !t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "This invitation token holds characters that no invitation has: paste the whole link from the email.",
        ));
    }
    Ok(t.to_string())
}

/// The token of an invitation given as a link (`https://.../register?token=...`), a query
/// string (`token=...`), or the bare token.
///
/// ```
/// use access_core::invitation::invitation_token;
/// let t = "Zx81_abcdefghijklmnop";
/// assert_eq!(invitation_token(&format!("https://access.example.com/invite?token={t}")).unwrap(), t);
/// assert_eq!(invitation_token(t).unwrap(), t);
/// assert!(invitation_token("https://access.example.com/invite").is_err());
/// ```
pub fn invitation_token(input: &str) -> Result<String, AccessError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(invalid("Paste the invitation link from the email."));
    }
    if s.contains("://") {
        let url = Url::parse(s).map_err(|_| {
            invalid("This is not a valid invitation link: paste the whole link from the email.")
        })?;
        return token_from_pairs(
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    if s.contains('=') {
        let q = s.trim_start_matches('?');
        let url = Url::parse(&format!("http://x/?{q}"))
            .map_err(|_| invalid("This is not a valid invitation link."))?;
        return token_from_pairs(
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    check_token(s)
}

fn token_from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Result<String, AccessError> {
    let tokens: Vec<String> = pairs
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v)
        .collect();
    match tokens.as_slice() {
        [] => Err(invalid(
            "The invitation link has no token: paste the whole link from the email.",
        )),
        [one] => check_token(one.trim()),
        _ => Err(invalid(
            "The invitation link holds more than one token: paste the link exactly as the email shows it.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "q0Jd6wM1yPZ_kV3n-8sRtg";

    #[test]
    fn accepts_links_queries_and_bare_tokens() {
        for ok in [
            format!("https://access.example.com/register?token={T}"),
            format!("  https://access.example.com/register?app=manager&token={T}#top \n"),
            format!("accessmanager://register?token={T}"),
            format!("token={T}"),
            format!("?token={T}"),
            T.to_string(),
        ] {
            assert_eq!(invitation_token(&ok).as_deref(), Ok(T), "{ok}");
        }
    }

    #[test]
    fn refuses_every_wrong_shape_with_a_typed_error() {
        for bad in [
            String::new(),
            "   ".into(),
            "https://access.example.com/register".into(),
            "https://access.example.com/register?token=".into(),
            "https://access.example.com/register?tok=abc".into(),
            format!("https://access.example.com/register?token={T}&token=other_token_1234567"),
            "https://".into(),
            "http://[::1/?token=abc".into(),
            "token=short".into(),
            "short".into(),
            format!("{T} extra"),
            format!("{T}<script>"),
            "x".repeat(300),
            "🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑".into(),
            "' OR 1=1 --".into(),
            format!("https://access.example.com/register?token={T}%00"),
        ] {
            let e = invitation_token(&bad).expect_err(&bad);
            assert!(
                matches!(e, AccessError::InvitationInvalid { .. }),
                "{bad}: {e:?}"
            );
        }
    }
}
