//! The pages a person sees when a sign-in does not end on the console: a refused role,
//! a failed provider, a callback that does not belong to this browser. Plain HTML with
//! the console's security headers; every word from outside is escaped.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use super::super::console::settings::secure;

/// `text` safe inside HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A sign-in that failed: `status`, a title, what happened, and a link back to the
/// sign-in page under `base`.
pub fn refused(status: StatusCode, title: &str, message: &str, base: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · faultline</title>\
<link rel=\"stylesheet\" href=\"{b}assets/console.css\"></head>\n<body data-page=\"signin-refused\"><main id=\"main\">\
<h1>{t}</h1>\n<p id=\"refusal\" class=\"error\">{m}</p>\n<p><a href=\"{b}signin\">Back to sign-in</a></p></main></body></html>\n",
        t = escape(title),
        m = escape(message),
        b = escape(base),
    );
    secure(
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_from_outside_are_escaped() {
        let r = refused(
            StatusCode::FORBIDDEN,
            "No role",
            "<img src=x onerror=alert(1)>",
            "/",
        );
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body = actix_web::body::to_bytes(r.into_body());
        let body = futures::executor::block_on(body).unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("&lt;img src=x"), "{body}");
        assert!(!body.contains("<img"), "{body}");
    }
}
