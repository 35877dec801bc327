//! Incoming: MSIM markup → HTML for a UI, and → plain text (SPEC §15.2, with the §24 decisions).

use std::borrow::Cow;

use super::emoticon::symbol_for;
use super::xml::{attr, Token, Tokenizer};
use super::{escape_html_attr, escape_html_text, safe_url, sanitize_colour, sanitize_face, MAX_DEPTH};

/// Largest pixel height honoured (96 pt); a hostile `h='99999999'` would otherwise ask the UI
/// for an absurd font. Larger values are clamped.
const MAX_HEIGHT_PX: u32 = 128;

/// Point sizes of HTML sizes 1..=7: round(8 × scale) for the scale table of SPEC §15.3.
pub(crate) const SIZE_POINTS: [u32; 7] = [7, 8, 8, 10, 12, 14, 17];

/// Pixel height → (points, HTML size 1..=7). SPEC §15.3 without Pidgin's off-by-one: the size is
/// the 1-based index of the first scale entry at least as large as the point size, else 7.
pub(crate) fn height_to_size(h: u32) -> (u32, u32) {
    let h = h.min(MAX_HEIGHT_PX);
    // round(h × 72 / 96) half-up, in integers: floor((3h + 2) / 4).
    let pt = (3 * h + 2) / 4;
    let size = SIZE_POINTS.iter().position(|&p| p >= pt).map_or(7, |i| i + 1);
    (pt, size as u32)
}

/// One open markup element: its name (to match the end tag) and the HTML that closes it.
struct Open<'a> {
    name: &'a str,
    close: String,
}

/// Writes the HTML opening `name` into `out` and returns what closes it (SPEC §15.2's table).
/// `<a>` and `<i>` are complete on their own: their closing string is empty.
fn open_element(name: &str, attrs: &[(&str, Cow<'_, str>)], out: &mut String) -> String {
    let mut close = String::new();
    match name.to_ascii_lowercase().as_str() {
        "p" => {
            out.push_str("<p>");
            close.push_str("</p>");
        }
        "f" => {
            let face = attr(attrs, "f").and_then(sanitize_face);
            let height = match attr(attrs, "h") {
                // Pidgin assumes h=12 here (SPEC §15.2); we emit no size at all, so that a plain
                // `<f s='1'>` (how bold travels) becomes just `<b>` and the UI's own size applies.
                None => None,
                // `h='0'` or garbage: no size (Pidgin emits an empty `<font><span>`).
                Some(v) => v.trim().parse::<u32>().ok().filter(|&h| h > 0),
            };
            let bits = attr(attrs, "s").and_then(|v| v.trim().parse::<u32>().ok()).unwrap_or(0);
            if face.is_some() || height.is_some() {
                let mut style = String::new();
                out.push_str("<font");
                if let Some(face) = face {
                    out.push_str(" face=\"");
                    escape_html_attr(face, out);
                    out.push('"');
                    style.push_str("font-family: ");
                    style.push_str(face);
                }
                if let Some(h) = height {
                    let (pt, size) = height_to_size(h);
                    out.push_str(&format!(" size=\"{size}\""));
                    if !style.is_empty() {
                        style.push_str("; ");
                    }
                    style.push_str(&format!("font-size: {pt}pt"));
                }
                out.push_str("><span style=\"");
                escape_html_attr(&style, out);
                out.push_str("\">");
                close.push_str("</font>");
                close.insert_str(0, "</span>");
            }
            // Style bits nest inside the font (SPEC §15.1: 1 bold, 2 italic, 4 underline) and close
            // in reverse order, unlike Pidgin's mis-nested `</b></span></font></i></u>`.
            for (bit, tag) in [(1, "b"), (2, "i"), (4, "u")] {
                if bits & bit != 0 {
                    out.push_str(&format!("<{tag}>"));
                    close.insert_str(0, &format!("</{tag}>"));
                }
            }
        }
        "c" | "b" => {
            if let Some(colour) = attr(attrs, "v").and_then(sanitize_colour) {
                let (open, end) = if name.eq_ignore_ascii_case("c") {
                    ("<font color=\"", "</font>")
                } else {
                    ("<body bgcolor=\"", "</body>")
                };
                out.push_str(open);
                escape_html_attr(&colour, out);
                out.push_str("\">");
                close.push_str(end);
            }
        }
        "a" => {
            // The link text cannot be chosen on this protocol: it is the URL (SPEC §15.1). Only
            // harmless schemes become links; anything else (`javascript:`) is shown as text.
            let url = attr(attrs, "h").map(str::trim).unwrap_or("");
            match safe_url(url) {
                Some(url) => {
                    out.push_str("<a href=\"");
                    escape_html_attr(url, out);
                    out.push_str("\">");
                    escape_html_text(url, out);
                    out.push_str("</a>");
                }
                None => escape_html_text(url, out),
            }
        }
        "i" => emoticon_text(attrs, |t| escape_html_text(t, out)),
        // Unknown tags (and a `root` or `html` wrapper) vanish; their content stays.
        _ => {}
    }
    close
}

/// The text an `<i n=NAME/>` stands for: its symbol, `**NAME**` when unknown, nothing without
/// a name (SPEC §15.2).
fn emoticon_text(attrs: &[(&str, Cow<'_, str>)], mut emit: impl FnMut(&str)) {
    if let Some(name) = attr(attrs, "n") {
        match symbol_for(name.trim()) {
            Some(sym) => emit(sym),
            None => emit(&format!("**{name}**")),
        }
    }
}

/// Markup elements that are complete when opened and may be honoured even past the depth cap.
fn is_leaf(name: &str) -> bool {
    name.eq_ignore_ascii_case("a") || name.eq_ignore_ascii_case("i")
}

pub(crate) fn markup_to_html(markup: &str) -> String {
    let mut html = String::with_capacity(markup.len() + markup.len() / 2 + 16);
    convert(markup, Some(&mut html), None);
    html
}

pub(crate) fn markup_to_plain(markup: &str) -> String {
    let mut plain = String::with_capacity(markup.len());
    convert(markup, None, Some(&mut plain));
    plain
}

/// Both forms in one pass: what every received IM needs.
pub(crate) fn markup_to_html_and_plain(markup: &str) -> (String, String) {
    let mut html = String::with_capacity(markup.len() + markup.len() / 2 + 16);
    let mut plain = String::with_capacity(markup.len());
    convert(markup, Some(&mut html), Some(&mut plain));
    (html, plain)
}

/// One walk over the tokens, writing the HTML and/or the plain text.
fn convert(markup: &str, mut html: Option<&mut String>, mut plain: Option<&mut String>) {
    let mut stack: Vec<Open<'_>> = Vec::new();
    for token in Tokenizer::new(markup) {
        match token {
            Token::Text(text) => {
                if let Some(out) = html.as_deref_mut() {
                    push_html_text_with_breaks(&text, out);
                }
                if let Some(out) = plain.as_deref_mut() {
                    out.push_str(&text);
                }
            }
            Token::Start { name, attrs, self_closing } => {
                if let Some(out) = plain.as_deref_mut() {
                    plain_start(name, &attrs, out);
                }
                let Some(out) = html.as_deref_mut() else { continue };
                let too_deep = stack.len() >= MAX_DEPTH;
                if too_deep && !self_closing && !is_leaf(name) {
                    continue;
                }
                let close = open_element(name, &attrs, out);
                if self_closing || too_deep {
                    out.push_str(&close);
                } else {
                    stack.push(Open { name, close });
                }
            }
            Token::End { name } => {
                let Some(out) = html.as_deref_mut() else { continue };
                // Closing an element closes everything opened inside it; a stray end tag is
                // ignored. Either way the output stays properly nested.
                if let Some(at) = stack.iter().rposition(|o| o.name.eq_ignore_ascii_case(name)) {
                    for open in stack.drain(at..).rev() {
                        out.push_str(&open.close);
                    }
                }
            }
        }
    }
    if let Some(out) = html {
        for open in stack.into_iter().rev() {
            out.push_str(&open.close);
        }
    }
}

/// What a start tag adds to the plain text.
fn plain_start(name: &str, attrs: &[(&str, Cow<'_, str>)], out: &mut String) {
    if name.eq_ignore_ascii_case("p") {
        // Paragraphs start on a new line (the official client wraps every IM in one).
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    } else if name.eq_ignore_ascii_case("a") {
        out.push_str(attr(attrs, "h").map(str::trim).unwrap_or(""));
    } else if name.eq_ignore_ascii_case("i") {
        emoticon_text(attrs, |t| out.push_str(t));
    }
}

/// Escapes text for HTML and turns line breaks (LF, CRLF or CR) into `<br/>`, since HTML would
/// otherwise fold them into spaces.
fn push_html_text_with_breaks(text: &str, out: &mut String) {
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        // A CR just before a LF is part of a CRLF pair; elsewhere a CR is a break of its own.
        let line = match lines.peek() {
            Some(_) => line.strip_suffix('\r').unwrap_or(line),
            None => line,
        };
        for (k, part) in line.split('\r').enumerate() {
            if k > 0 {
                out.push_str("<br/>");
            }
            escape_html_text(part, out);
        }
        if lines.peek().is_some() {
            out.push_str("<br/>");
        }
    }
}
