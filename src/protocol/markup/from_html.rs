//! Outgoing: HTML from a UI → MSIM markup (SPEC §15.4, with the §24 decisions), and HTML →
//! plain text for status messages (SPEC §12).

use std::borrow::Cow;

use super::emoticon::push_with_emoticons;
use super::xml::{attr, Token, Tokenizer};
use super::{bounded_face, escape_markup_attr, escape_markup_text, safe_url, sanitize_colour, MAX_DEPTH};

/// Outgoing `h` for HTML sizes 1..=7 (SPEC §15.3).
const SIZE_HEIGHTS_PX: [u32; 7] = [9, 11, 11, 13, 16, 19, 23];

/// Elements that never have content; they are not pushed, so a missing end tag cannot swallow
/// the rest of the message.
fn is_void(name: &str) -> bool {
    const VOID: &[&str] = &[
        "br", "img", "hr", "meta", "link", "input", "wbr", "area", "base", "col", "embed", "param", "source", "track",
    ];
    VOID.iter().any(|v| v.eq_ignore_ascii_case(name))
}

/// The font state in force at a point of the document.
#[derive(Clone, Default, PartialEq, Eq)]
struct Font {
    face: Option<String>,
    height: Option<u32>,
    /// SPEC §15.1: 1 bold, 2 italic, 4 underline.
    bits: u8,
}

/// What one HTML element asks for.
#[derive(Default)]
struct Effect {
    bits: u8,
    face: Option<String>,
    height: Option<u32>,
    colour: Option<String>,
    background: Option<String>,
}

/// `<font size>`: absolute 1..=7 or relative to the default 3 (`+1`, `-2`), clamped.
fn html_size_to_height(v: &str) -> Option<u32> {
    let v = v.trim();
    let n: i64 = v.strip_prefix('+').unwrap_or(v).parse().ok()?;
    let size = if v.starts_with(['+', '-']) { 3 + n } else { n };
    Some(SIZE_HEIGHTS_PX[(size.clamp(1, 7) - 1) as usize])
}

/// Reads the few CSS properties a `style` attribute can map onto markup.
fn apply_css(style: &str, e: &mut Effect) {
    for decl in style.split(';') {
        let Some((prop, value)) = decl.split_once(':') else { continue };
        let prop = prop.trim().to_ascii_lowercase();
        let value = value.trim();
        let lower = value.to_ascii_lowercase();
        match prop.as_str() {
            "font-weight" if lower == "bold" || lower == "bolder" || lower.parse::<u32>().is_ok_and(|w| w >= 600) => {
                e.bits |= 1
            }
            "font-style" if lower == "italic" || lower == "oblique" => e.bits |= 2,
            "text-decoration" | "text-decoration-line" if lower.contains("underline") => e.bits |= 4,
            "color" => e.colour = sanitize_colour(value).or(e.colour.take()),
            "background" | "background-color" => {
                e.background = sanitize_colour(value).or(e.background.take());
            }
            "font-family" => {
                let first = value.split(',').next().unwrap_or("").trim().trim_matches(['\'', '"']);
                if let Some(face) = bounded_face(first) {
                    e.face = Some(face.to_string());
                }
            }
            "font-size" => {
                let px = if let Some(pt) = lower.strip_suffix("pt") {
                    // points → pixels: round(pt × 96 / 72) (SPEC §15.3).
                    pt.trim().parse::<f64>().ok().map(|pt| (pt * 96.0 / 72.0 + 0.5).floor())
                } else {
                    lower.strip_suffix("px").and_then(|px| px.trim().parse::<f64>().ok())
                };
                if let Some(px) = px.filter(|px| px.is_finite() && *px >= 1.0) {
                    e.height = Some(px.min(1000.0).round() as u32);
                }
            }
            _ => {}
        }
    }
}

fn effect_of(name: &str, attrs: &[(&str, Cow<'_, str>)]) -> Effect {
    let mut e = Effect::default();
    match name.to_ascii_lowercase().as_str() {
        "b" | "strong" => e.bits |= 1,
        "i" | "em" => e.bits |= 2,
        "u" => e.bits |= 4,
        "font" => {
            e.face = attr(attrs, "face").and_then(|f| bounded_face(f)).map(String::from);
            e.height = attr(attrs, "size").and_then(html_size_to_height);
            e.colour = attr(attrs, "color").and_then(sanitize_colour);
        }
        "body" => e.background = attr(attrs, "bgcolor").and_then(sanitize_colour),
        _ => {}
    }
    if let Some(style) = attr(attrs, "style") {
        apply_css(style, &mut e);
    }
    e
}

/// Writes `<f …>` for `font`. Every `<f>` restates the whole font in force (face, height and
/// all style bits), so the result is right whether or not a receiver inherits from outer `<f>`s.
fn push_f(font: &Font, out: &mut String) {
    out.push_str("<f");
    if let Some(face) = &font.face {
        out.push_str(" f='");
        escape_markup_attr(face, out);
        out.push('\'');
    }
    if let Some(h) = font.height {
        out.push_str(&format!(" h='{h}'"));
    }
    if font.bits != 0 {
        out.push_str(&format!(" s='{}'", font.bits));
    }
    out.push('>');
}

fn push_colour_tag(tag: &str, colour: &str, out: &mut String) {
    out.push('<');
    out.push_str(tag);
    out.push_str(" v='");
    escape_markup_attr(colour, out);
    out.push_str("'>");
}

/// One open HTML element. Its markup is written lazily, when content first appears inside it, so
/// `<b><i><u>x</u></i></b>` becomes one `<f s='7'>` and empty elements produce nothing.
struct Open<'a> {
    name: &'a str,
    /// The font in force inside this element.
    font: Font,
    colour: Option<String>,
    background: Option<String>,
    is_link: bool,
    /// Its `<c>`/`<b>` tags have been written (or it has none).
    materialized: bool,
    /// What closes the `<c>`/`<b>` tags it wrote.
    cb_close: &'static str,
    /// It wrote an `<f>`, and whether that came before its `<c>`/`<b>` (then it closes after).
    f_open: bool,
    f_first: bool,
}

/// The `<a>` being read: its children are reduced to a text label (SPEC §15.4).
struct Link {
    href: Option<String>,
    label: String,
}

struct Writer<'a> {
    out: String,
    stack: Vec<Open<'a>>,
    link: Option<Link>,
}

impl Writer<'_> {
    /// Writes the pending markup of the open elements before some content. Colour tags come in
    /// document order; one `<f>` then carries the innermost element's whole font, if it differs
    /// from the font already written. Nesting (rather than sibling `<f>` runs) is what the official
    /// client needs for mixed formatting within a line (SPEC §15.1).
    fn materialize(&mut self) {
        let Some(top) = self.stack.len().checked_sub(1) else { return };
        let first = self.stack.iter().rposition(|o| o.materialized).map_or(0, |i| i + 1);
        let written =
            |stack: &[Open<'_>]| stack.iter().rev().find(|o| o.f_open).map(|o| o.font.clone()).unwrap_or_default();
        for k in first..=top {
            let font_needed = k == top && self.stack[k].font != written(&self.stack[..k]);
            let out = &mut self.out;
            let o = &mut self.stack[k];
            // The innermost element opens its `<f>` before its colours, like `<font face color>`
            // → `<f f=…><c v=…>` in SPEC §15.4.
            if font_needed {
                push_f(&o.font, out);
                o.f_open = true;
                o.f_first = true;
            }
            if let Some(c) = &o.colour {
                push_colour_tag("c", c, out);
            }
            if let Some(bg) = &o.background {
                push_colour_tag("b", bg, out);
            }
            o.cb_close = match (o.colour.is_some(), o.background.is_some()) {
                (false, false) => "",
                (false, true) => "</b>",
                (true, false) => "</c>",
                (true, true) => "</b></c>",
            };
            o.materialized = true;
        }
        // An element whose child already closed may still need its own font written.
        let top_written = written(&self.stack[..top]);
        let o = &mut self.stack[top];
        if !o.f_open && o.font != top_written {
            push_f(&o.font, &mut self.out);
            o.f_open = true;
            o.f_first = false;
        }
    }

    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        match &mut self.link {
            Some(l) => l.label.push_str(s),
            None => {
                self.materialize();
                push_with_emoticons(s, &mut self.out, escape_markup_text);
            }
        }
    }

    /// `<a h='U' />`, prefixed by `label: ` when the label says something the URL does not
    /// (SPEC §15.4). Links with other schemes (`javascript:`) are sent as their label only.
    fn finish_link(&mut self, link: Link) {
        let label = link.label.trim();
        let Some(href) = link.href.as_deref().and_then(safe_url) else {
            self.text(label);
            return;
        };
        let same = label.is_empty() || label == href || href.strip_prefix("mailto:").is_some_and(|addr| addr == label);
        if !same {
            self.text(label);
            self.out.push_str(": ");
        }
        self.materialize();
        self.out.push_str("<a h='");
        escape_markup_attr(href, &mut self.out);
        self.out.push_str("' />");
    }

    fn close(&mut self, open: Open<'_>) {
        if open.is_link {
            if let Some(l) = self.link.take() {
                self.finish_link(l);
            }
        }
        if !open.materialized {
            return;
        }
        if open.f_open && !open.f_first {
            self.out.push_str("</f>");
        }
        self.out.push_str(open.cb_close);
        if open.f_open && open.f_first {
            self.out.push_str("</f>");
        }
    }
}

pub(crate) fn html_to_markup(html: &str) -> String {
    let mut w = Writer { out: String::with_capacity(html.len() + 16), stack: Vec::new(), link: None };
    for token in Tokenizer::new(html) {
        match token {
            Token::Text(t) => w.text(&t),
            Token::Start { name, attrs, self_closing } => {
                if name.eq_ignore_ascii_case("br") {
                    match &mut w.link {
                        Some(l) => l.label.push(' '),
                        None => {
                            w.materialize();
                            w.out.push('\n');
                        }
                    }
                    continue;
                }
                if name.eq_ignore_ascii_case("img") {
                    // An image's alternative text is what the user meant (a smiley, usually).
                    if let Some(alt) = attr(&attrs, "alt") {
                        w.text(alt);
                    }
                    continue;
                }
                let is_a = name.eq_ignore_ascii_case("a");
                if is_void(name) || (self_closing && !is_a) || w.stack.len() >= MAX_DEPTH {
                    continue;
                }
                let font = w.stack.last().map(|o| o.font.clone()).unwrap_or_default();
                let mut open = Open {
                    name,
                    font,
                    colour: None,
                    background: None,
                    is_link: false,
                    materialized: false,
                    cb_close: "",
                    f_open: false,
                    f_first: false,
                };
                if w.link.is_some() {
                    // Inside a link only the text counts; keep the element for end-tag matching.
                    open.materialized = true;
                } else if is_a {
                    let link = Link { href: attr(&attrs, "href").map(String::from), label: String::new() };
                    if self_closing {
                        w.finish_link(link);
                        continue;
                    }
                    w.link = Some(link);
                    open.is_link = true;
                    open.materialized = true;
                } else {
                    let e = effect_of(name, &attrs);
                    open.font.bits |= e.bits;
                    open.font.face = e.face.or(open.font.face);
                    open.font.height = e.height.or(open.font.height);
                    open.colour = e.colour;
                    open.background = e.background;
                }
                w.stack.push(open);
            }
            Token::End { name } => {
                if let Some(at) = w.stack.iter().rposition(|o| o.name.eq_ignore_ascii_case(name)) {
                    // One at a time: a link closing inside writes its text while the elements
                    // around it are still on the stack.
                    while w.stack.len() > at {
                        let open = w.stack.pop().expect("len > at");
                        w.close(open);
                    }
                }
            }
        }
    }
    while let Some(open) = w.stack.pop() {
        w.close(open);
    }
    // SPEC §2.2/§24: a bare `final` value would end the frame early.
    if w.out == "final" {
        w.out = String::from("<p>final</p>");
    }
    w.out
}

pub(crate) fn html_to_plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // For each open element: its name, and for an `<a href>` where its text starts and the URL.
    let mut stack: Vec<(&str, Option<(usize, String)>)> = Vec::new();
    let close_link = |out: &mut String, start: usize, href: String| {
        let href = href.trim();
        let label = out[start..].trim();
        if label.is_empty() {
            out.push_str(href);
        } else if !href.is_empty() && label != href && href.strip_prefix("mailto:") != Some(label) {
            out.push_str(&format!(" ({href})"));
        }
    };
    for token in Tokenizer::new(html) {
        match token {
            Token::Text(t) => out.push_str(&t),
            Token::Start { name, attrs, self_closing } => {
                let lower = name.to_ascii_lowercase();
                match lower.as_str() {
                    "br" => out.push('\n'),
                    "p" | "div" if !out.is_empty() && !out.ends_with('\n') => out.push('\n'),
                    "img" => out.push_str(attr(&attrs, "alt").unwrap_or("")),
                    _ => {}
                }
                if is_void(name) || self_closing || stack.len() >= MAX_DEPTH {
                    continue;
                }
                let link = (lower == "a" && !stack.iter().any(|(_, l)| l.is_some()))
                    .then(|| attr(&attrs, "href").map(|h| (out.len(), h.to_string())))
                    .flatten();
                stack.push((name, link));
            }
            Token::End { name } => {
                if let Some(at) = stack.iter().rposition(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    for (_, link) in stack.drain(at..).rev() {
                        if let Some((start, href)) = link {
                            close_link(&mut out, start, href);
                        }
                    }
                }
            }
        }
    }
    for (_, link) in stack.into_iter().rev() {
        if let Some((start, href)) = link {
            close_link(&mut out, start, href);
        }
    }
    out
}
