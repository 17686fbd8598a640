//! The path of a request URL as the runtime serialises it (`Request.url`), without a URL parser: a
//! serialised http(s) URL always has a path that starts at the first `/` after the authority, and any
//! `?` or `#` inside the path is percent-encoded, so the path ends at the first of them.

/// `https://host:8787/v1/chat?x=1` → `/v1/chat`; `/` when the URL has no path.
pub fn path(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = url.get(after_scheme..).unwrap_or("");
    let Some(start) = rest.find('/') else {
        return "/";
    };
    let path = rest.get(start..).unwrap_or("/");
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path.get(..end).unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::path;

    #[test]
    fn paths_of_serialised_urls() {
        assert_eq!(
            path("https://gw.example/v1/chat/completions"),
            "/v1/chat/completions"
        );
        assert_eq!(path("http://127.0.0.1:8787/health?probe=1"), "/health");
        assert_eq!(path("http://127.0.0.1:8787/a/b#frag"), "/a/b");
        assert_eq!(path("http://127.0.0.1:8787/"), "/");
        assert_eq!(path("http://127.0.0.1:8787"), "/");
        assert_eq!(path("http://h/admin/orgs/x?cursor=a/b"), "/admin/orgs/x");
        assert_eq!(path("http://user@h/p%3Fq"), "/p%3Fq");
    }
}
