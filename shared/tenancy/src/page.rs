//! Keyset pagination over time-ordered ids: `?limit=1..200&cursor=<id>` in,
//! `{"object":"list","data":[…],"next_cursor":…}` out.

use envelope::ApiError;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::ids::{self, IdKind};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// One page request: at most `limit` items with ids after `cursor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

impl Page {
    /// Reads `limit` and `cursor` from a query string (with or without its leading `?`);
    /// other parameters are left to the caller. The cursor must be an id of `kind`.
    pub fn from_query(query: &str, kind: IdKind) -> Result<Page, ApiError> {
        Page::from_query_with(query, |cursor| ids::is_valid(kind, cursor))
    }

    /// Like [`Page::from_query`], for lists keyed by something other than an id (model ids):
    /// `is_cursor` says whether a cursor is well-formed.
    pub fn from_query_with(
        query: &str,
        is_cursor: impl Fn(&str) -> bool,
    ) -> Result<Page, ApiError> {
        let limit = match query_param(query, "limit") {
            None => DEFAULT_LIMIT,
            Some(text) => parse_limit(text)?,
        };
        let cursor = match query_param(query, "cursor") {
            None => None,
            Some(text) if is_cursor(text) => Some(text.to_string()),
            Some(_) => return Err(ApiError::invalid_cursor()),
        };
        Ok(Page { limit, cursor })
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> u32 {
        self.limit.saturating_add(1)
    }
}

fn parse_limit(text: &str) -> Result<u32, ApiError> {
    let limit = text
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n));
    limit.ok_or_else(|| {
        ApiError::invalid_field("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
    })
}

/// The first value of parameter `name` in a query string (with or without its leading `?`);
/// `Some("")` for a bare `name` or `name=`. No percent-decoding: ids and numbers need none.
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// A query value with its `%XX` escapes decoded (`+` is kept: the values read this way — storage keys,
/// opaque cursors — never hold spaces, and a cursor may hold `+`). Invalid escapes stay as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| b == b'%')
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The list body for rows fetched with [`Page::fetch_limit`]: keeps the first `limit` items and,
/// when more came back, sets `next_cursor` to the id of the last item kept.
pub fn list_body<T: Serialize>(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> &str) -> Value {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = match items.last() {
        Some(last) if more => Value::from(id_of(last)),
        _ => Value::Null,
    };
    // Records are plain structs of strings and numbers, so serializing cannot fail; an item
    // that somehow did would show as null rather than abort the request.
    let data = items
        .iter()
        .map(|item| serde_json::to_value(item).unwrap_or(Value::Null))
        .collect();
    let mut body = Map::new();
    body.insert("object".into(), "list".into());
    body.insert("data".into(), Value::Array(data));
    body.insert("next_cursor".into(), next_cursor);
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percent_escapes_decode_and_the_rest_stays() {
        assert_eq!(percent_decode("ins_1%2F_%2f2025"), "ins_1/_/2025");
        assert_eq!(percent_decode("a+b%3D%3d"), "a+b==");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode(""), "");
    }

    const ORG: &str = "org_01ARYZ6S410000000000000000";

    #[test]
    fn defaults_without_parameters() {
        assert_eq!(Page::from_query("", IdKind::Org).unwrap(), Page::default());
        assert_eq!(Page::from_query("?", IdKind::Org).unwrap().limit, 50);
        assert_eq!(Page::default().fetch_limit(), 51);
    }

    #[test]
    fn reads_limit_and_cursor_among_other_parameters() {
        let query = format!("?project_id=prj_x&limit=200&cursor={ORG}&x");
        let page = Page::from_query(&query, IdKind::Org).unwrap();
        assert_eq!(page.limit, 200);
        assert_eq!(page.cursor.as_deref(), Some(ORG));
        assert_eq!(Page::from_query("limit=1", IdKind::Org).unwrap().limit, 1);
    }

    #[test]
    fn rejects_bad_limits() {
        for limit in ["0", "201", "-1", "ten", "", "1.5", "99999999999"] {
            let err = Page::from_query(&format!("limit={limit}"), IdKind::Org).unwrap_err();
            assert_eq!(
                (err.status(), &*err.code),
                (400, "invalid_field"),
                "{limit}"
            );
            assert_eq!(err.message, "limit: must be an integer from 1 to 200");
        }
    }

    #[test]
    fn rejects_cursors_of_another_kind_or_shape() {
        let instance_cursor = ORG.replacen("org_", "ins_", 1);
        for cursor in ["", "abc", instance_cursor.as_str()] {
            let err = Page::from_query(&format!("cursor={cursor}"), IdKind::Org).unwrap_err();
            assert_eq!(
                (err.status(), &*err.code),
                (400, "invalid_cursor"),
                "{cursor}"
            );
        }
    }

    #[test]
    fn query_param_finds_the_first_exact_name() {
        let query = "?a=1&ab=2&a=3&flag&empty=";
        assert_eq!(query_param(query, "a"), Some("1"));
        assert_eq!(query_param(query, "ab"), Some("2"));
        assert_eq!(query_param(query, "flag"), Some(""));
        assert_eq!(query_param(query, "empty"), Some(""));
        assert_eq!(query_param(query, "b"), None);
        assert_eq!(query_param("", "a"), None);
    }

    #[derive(Serialize)]
    struct Row {
        id: String,
    }

    fn rows(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| Row {
                id: format!("r{i}"),
            })
            .collect()
    }

    #[test]
    fn list_body_sets_next_cursor_only_when_more_came_back() {
        let body = list_body(rows(3), 2, |r| &r.id);
        assert_eq!(
            body,
            json!({"object":"list","data":[{"id":"r0"},{"id":"r1"}],"next_cursor":"r1"})
        );
        let body = list_body(rows(2), 2, |r| &r.id);
        assert_eq!(body["data"].as_array().unwrap().len(), 2);
        assert_eq!(body["next_cursor"], Value::Null);
        let body = list_body(rows(0), 50, |r| &r.id);
        assert_eq!(body, json!({"object":"list","data":[],"next_cursor":null}));
    }
}
