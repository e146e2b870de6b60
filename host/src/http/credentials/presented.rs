//! Where a request carries its access token: the `Authorization` header, a
//! cookie, or (pre-standard streams only) the `authorization` query
//! parameter. Nothing here validates a token; it only finds it, or says why
//! the way it was presented is malformed.

use super::denied::Denied;
use crate::http::form;

/// The parts of a request that may carry credentials, gathered from its
/// headers by either HTTP path (poem's [`Request`](poem::Request), or the
/// lean path's own header parser, which calls [`header`](Self::header) for
/// each line).
#[derive(Debug, Clone, Default)]
pub struct Presented {
    authorization: Vec<Vec<u8>>,
    cookies: Vec<Vec<u8>>,
    origins: Vec<Vec<u8>>,
}

impl Presented {
    /// The credentials of a request poem parsed.
    pub fn from_request(req: &poem::Request) -> Presented {
        let mut presented = Presented::default();
        for (name, value) in req.headers() {
            presented.header(name.as_str(), value.as_bytes());
        }
        presented
    }

    /// Keeps one header line if it can matter (`Authorization`, `Cookie`,
    /// `Origin`, any case); call it for every header, repeated ones
    /// included, since two `Authorization` headers are refused.
    pub fn header(&mut self, name: &str, value: &[u8]) {
        let list = if name.eq_ignore_ascii_case("authorization") {
            &mut self.authorization
        } else if name.eq_ignore_ascii_case("cookie") {
            &mut self.cookies
        } else if name.eq_ignore_ascii_case("origin") {
            &mut self.origins
        } else {
            return;
        };
        list.push(value.to_vec());
    }

    /// The request's one `Origin` (none when absent or repeated).
    pub(super) fn origin(&self) -> Option<&[u8]> {
        match self.origins.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// The first `Authorization` header, as text, as the editor-token check
    /// has always read it.
    pub(super) fn first_authorization(&self) -> Option<&str> {
        // What `HeaderValue::to_str` accepts: visible ASCII, space and tab.
        let value = self.authorization.first()?;
        let visible = |&b: &u8| b == b'\t' || (b' '..=b'~').contains(&b);
        value
            .iter()
            .all(visible)
            .then(|| std::str::from_utf8(value).ok())
            .flatten()
    }
}

/// Where a token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// `Authorization: Bearer <token>`.
    Header,
    /// The `authorization` query parameter (pre-standard streams).
    Query,
    /// A cookie.
    Cookie,
}

/// A token as presented, not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub token: String,
    pub source: Source,
}

/// Finds the token: the `Authorization` header wins (RFC 6750 forbids two
/// mechanisms, but the draft has the header win over a cookie, which a
/// browser attaches whatever the client chose); else the `authorization`
/// parameter of `query`, when the caller passes one (Mercure v0.24 put it
/// before the cookie); else the first of `cookies` (names, in order) that
/// the request carries.
pub(super) fn find(
    presented: &Presented,
    query: Option<&str>,
    cookies: &[String],
) -> Result<Option<Found>, Denied> {
    match presented.authorization.as_slice() {
        [] => {}
        [one] => {
            return Ok(Some(Found {
                token: bearer(one)?.to_owned(),
                source: Source::Header,
            }));
        }
        _ => return Err(Denied::Malformed("more than one Authorization header")),
    }
    if let Some(query) = query
        && let Some(token) = query_token(query)?
    {
        return Ok(Some(Found {
            token,
            source: Source::Query,
        }));
    }
    for name in cookies {
        if let Some(value) = cookie(&presented.cookies, name) {
            return Ok(Some(Found {
                token: non_empty(value)?.to_owned(),
                source: Source::Cookie,
            }));
        }
    }
    Ok(None)
}

const NOT_BEARER: &str = "the Authorization header is not Bearer <token>";

/// The token of an `Authorization: Bearer <token>` value: the scheme in any
/// case, one or more spaces, the token (RFC 9110 §11.4).
fn bearer(value: &[u8]) -> Result<&str, Denied> {
    let text = std::str::from_utf8(value).map_err(|_| Denied::Malformed(NOT_BEARER))?;
    let text = text.trim_matches([' ', '\t']);
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Denied::Malformed(NOT_BEARER));
    }
    non_empty(rest.trim_start_matches(' '))
}

/// `token` unless it is empty. Its shape is the validator's to judge,
/// after the editor token (any text) had its chance.
fn non_empty(token: &str) -> Result<&str, Denied> {
    if token.is_empty() {
        return Err(Denied::Malformed("the access token is empty"));
    }
    Ok(token)
}

/// The `authorization` query parameter, if present once (see
/// [`form::query_token`]).
fn query_token(query: &str) -> Result<Option<String>, Denied> {
    form::query_token(query).map_err(Denied::Malformed)
}

/// The value of the first cookie called `name` in `headers` (RFC 6265
/// §4.2: `name=value` pairs separated by `;`), without its optional
/// double quotes.
fn cookie<'a>(headers: &'a [Vec<u8>], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .filter_map(|h| std::str::from_utf8(h).ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, value)| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
        })
}
