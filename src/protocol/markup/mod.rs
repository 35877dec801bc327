//! MSIM markup ⇄ HTML ⇄ plain text (SPEC §15, with the decisions of SPEC §24).
//!
//! Owns the conversion of IM text between the wire's markup (`<p>`, `<f>`, `<c>`, `<b>`, `<a/>`,
//! `<i/>`, already `/1` `/2`-unescaped, SPEC §3) and the libpurple-style HTML a UI shows and
//! types, plus the plain-text forms used for events and status messages (SPEC §12).
//!
//! Everything here is a pure function over `&str`. It must never fail, panic, recurse on input
//! structure or produce malformed output: whatever the peer sends, the HTML handed to a UI is
//! well-formed, properly nested and fully escaped, and the markup sent is well-formed XML. Where
//! Pidgin shows raw text on a parse error (SPEC §15.2), this module degrades tag by tag: what is
//! not a complete tag is escaped as text, unknown tags vanish with their content kept, and only
//! safe links, colours and faces are passed through. It deliberately does not reproduce Pidgin's
//! mis-nesting, off-by-one font size or blind emoticon replacement (SPEC §24).

mod emoticon;
mod from_html;
mod to_html;
mod xml;

pub(crate) use xml::is_forbidden_char;

#[cfg(test)]
mod tests;

pub use emoticon::EMOTICONS;
#[doc(hidden)]
pub use xml::is_well_formed;

/// Deepest element nesting honoured. Real messages nest a handful of levels (`<p><f><c><b>`);
/// deeper start tags are ignored (their text is kept), which bounds the explicit stacks used
/// instead of recursion.
pub const MAX_DEPTH: usize = 64;

/// MSIM markup (already unescaped from the wire) → HTML for a UI. Always well-formed, fully
/// escaped (SPEC §15.2, §24).
pub fn markup_to_html(markup: &str) -> String {
    to_html::markup_to_html(markup)
}

/// HTML typed by a user or UI (libpurple style: `<b>`, `<i>`, `<u>`, `<font face size color>`,
/// `<a href>`, `<body bgcolor>`, `<span style>`, `<br>`) → MSIM markup to send, before wire
/// escaping (SPEC §15.4, §24). Never returns exactly `final` (SPEC §2.2).
pub fn html_to_markup(html: &str) -> String {
    from_html::html_to_markup(html)
}

/// MSIM markup → plain text: tags removed, emoticons shown as their symbols, links as their URL,
/// entities decoded.
pub fn markup_to_plain(markup: &str) -> String {
    to_html::markup_to_plain(markup)
}

/// [`markup_to_html`] and [`markup_to_plain`] of the same markup, in one pass (half the work of
/// calling both).
pub fn markup_to_html_and_plain(markup: &str) -> (String, String) {
    to_html::markup_to_html_and_plain(markup)
}

/// HTML → plain text: tags removed, `<br>` → newline, entities decoded. For status messages,
/// which are plain text on the wire (SPEC §12).
pub fn html_to_plain(html: &str) -> String {
    from_html::html_to_plain(html)
}

/// Escapes HTML text: `& < > " '`.
fn escape_html_text(s: &str, out: &mut String) {
    xml::push_escaped(s, out, |c| match c {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'"' => Some("&quot;"),
        b'\'' => Some("&#39;"),
        _ => None,
    })
}

/// HTML attribute values are escaped like text (the same five characters).
fn escape_html_attr(s: &str, out: &mut String) {
    escape_html_text(s, out)
}

/// Escapes markup text: only `& < >`. Quotes are legal in XML text, and leaving them alone keeps
/// `don't` readable for a receiver that decodes fewer entities than we do.
fn escape_markup_text(s: &str, out: &mut String) {
    xml::push_escaped(s, out, |c| match c {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        _ => None,
    })
}

/// Escapes a markup attribute value; we quote with `'` (SPEC §15.4's form) but escape both quotes.
fn escape_markup_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => escape_markup_text(c.encode_utf8(&mut [0; 4]), out),
        }
    }
}

/// A colour we are willing to pass on: a name (`black`), `#rgb` / `#rrggbb`, or `rgb(r,g,b)`
/// (SPEC §15.1), the last normalised to `#rrggbb` as Pidgin does (SPEC §15.2). Anything else is
/// dropped, so a colour can never carry other markup or CSS.
/// Longer than any real font family name, in bytes (escaped, where it is escaped).
const MAX_FACE_BYTES: usize = 64;

/// A face name for HTML (incoming markup): plain words of at most [`MAX_FACE_BYTES`], because it
/// ends up inside a CSS `style`, where `;`, quotes or parentheses could smuggle in other
/// properties. Anything else drops the face.
fn sanitize_face(face: &str) -> Option<&str> {
    let face = face.trim();
    let ok = !face.is_empty()
        && face.len() <= MAX_FACE_BYTES
        && face.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | ',' | '.'));
    ok.then_some(face)
}

/// A face name for markup (outgoing HTML): at most [`MAX_FACE_BYTES`] once escaped. Every `<f>`
/// restates the face in force at each style change, so its length multiplies by the number of
/// tags: an unbounded face was a quadratic blow-up (a 164-byte HTML input gave 2 782 bytes of
/// markup; found by the html_to_markup fuzz target's 10^7-execution run). A longer one is dropped.
fn bounded_face(face: &str) -> Option<&str> {
    let face = face.trim();
    let mut escaped = String::new();
    escape_markup_attr(face, &mut escaped);
    (!face.is_empty() && escaped.len() <= MAX_FACE_BYTES).then_some(face)
}

fn sanitize_colour(v: &str) -> Option<String> {
    // Longest CSS colour name is 20 letters ("lightgoldenrodyellow").
    const MAX_NAME: usize = 32;
    let v = v.trim();
    if !v.is_empty() && v.len() <= MAX_NAME && v.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Some(v.to_string());
    }
    if let Some(hex) = v.strip_prefix('#') {
        let ok = matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit());
        return ok.then(|| v.to_string());
    }
    let inner = v.get(..4).filter(|p| p.eq_ignore_ascii_case("rgb("))?;
    let inner = v[inner.len()..].strip_suffix(')')?;
    let mut parts = inner.split(',').map(|p| {
        let p = p.trim();
        // Up to three digits; components above 255 are clamped rather than refused.
        (!p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u16>().map(|n| n.min(255)).ok())
            .flatten()
    });
    let (r, g, b) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() {
        return None;
    }
    Some(format!("#{r:02x}{g:02x}{b:02x}"))
}

/// `url` (trimmed) when its scheme is one we let become a link: http, https, ftp, mailto and
/// myim (the official client's own scheme). `javascript:`, `data:` and the rest are refused.
fn safe_url(url: &str) -> Option<&str> {
    const SCHEMES: &[&str] = &["http://", "https://", "ftp://", "mailto:", "myim:"];
    let url = url.trim();
    let ok =
        SCHEMES.iter().any(|s| url.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)) && url.len() > s.len());
    ok.then_some(url)
}
