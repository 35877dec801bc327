//! A tolerant, linear-time tokenizer for the tag soup both converters read, plus the strict
//! well-formedness check the tests hold the converters' output to.
//!
//! The tokenizer never fails: anything that does not parse as a complete tag is text (SPEC §24:
//! "when in doubt, escape it as text", where Pidgin would show the raw input, SPEC §15.2). It
//! never recurses and never re-scans more than a bounded amount, so hostile input costs O(n).

use std::borrow::Cow;

/// One piece of the input. Text and attribute values borrow from the input unless decoding
/// changed them (most chat text has no entities), so tokenizing rarely allocates.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// Text with entities decoded and forbidden control characters removed.
    Text(Cow<'a, str>),
    /// `<name a='v' …>` or `<name …/>`; attribute values are entity-decoded.
    Start { name: &'a str, attrs: Vec<(&'a str, Cow<'a, str>)>, self_closing: bool },
    /// `</name>`.
    End { name: &'a str },
}

/// Splits markup or HTML into [`Token`]s. Comments, `<!…>` and `<?…?>` are dropped; CDATA is text.
pub(crate) struct Tokenizer<'a> {
    src: &'a str,
    pos: usize,
    pending: Option<(Token<'a>, usize)>,
    // Once a search for a terminator ran off the end, later searches would too: remembering that
    // keeps `<!--<!--<!--…` linear instead of quadratic.
    no_comment_end: bool,
    no_cdata_end: bool,
}

impl<'a> Tokenizer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Tokenizer { src, pos: 0, pending: None, no_comment_end: false, no_cdata_end: false }
    }

    /// Tries to read a construct starting with the `<` at byte `lt`. `Some((token, end))` when it
    /// is one (token `None` for a dropped comment), `None` when that `<` is just text.
    fn construct_at(&mut self, lt: usize) -> Option<(Option<Token<'a>>, usize)> {
        let rest = &self.src[lt..];
        let b = rest.as_bytes();
        match b.get(1).copied()? {
            c if c.is_ascii_alphabetic() => start_tag(self.src, lt).map(|(t, e)| (Some(t), e)),
            b'/' if b.get(2).is_some_and(u8::is_ascii_alphabetic) => {
                let (name, after) = tag_name(self.src, lt + 2);
                let close = skip_to_gt(self.src, after)?;
                Some((Some(Token::End { name }), close + 1))
            }
            b'!' if rest.starts_with("<!--") => {
                if self.no_comment_end {
                    return None;
                }
                match memchr::memmem::find(&b[4..], b"-->") {
                    Some(i) => Some((None, lt + 4 + i + 3)),
                    None => {
                        self.no_comment_end = true;
                        None
                    }
                }
            }
            b'!' if rest.starts_with("<![CDATA[") => {
                if self.no_cdata_end {
                    return None;
                }
                match memchr::memmem::find(&b[9..], b"]]>") {
                    Some(i) => {
                        let text = strip_controls(&rest[9..9 + i]);
                        Some((Some(Token::Text(Cow::Owned(text))), lt + 9 + i + 3))
                    }
                    None => {
                        self.no_cdata_end = true;
                        None
                    }
                }
            }
            b'!' | b'?' => skip_to_gt(self.src, lt + 2).map(|e| (None, e + 1)),
            _ => None,
        }
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if let Some((tok, end)) = self.pending.take() {
            self.pos = end;
            return Some(tok);
        }
        // A loop, not recursion: a run of dropped comments must not grow the call stack.
        let mut text_start = self.pos;
        let mut scan = self.pos;
        loop {
            let Some(off) = memchr::memchr(b'<', &self.src.as_bytes()[scan..]) else {
                self.pos = self.src.len();
                return (text_start < self.src.len()).then(|| Token::Text(decode_text(&self.src[text_start..])));
            };
            let lt = scan + off;
            let Some((tok, end)) = self.construct_at(lt) else {
                scan = lt + 1;
                continue;
            };
            if lt > text_start {
                // Hand out the text first; the construct follows on the next call.
                self.pos = lt;
                match tok {
                    Some(tok) => self.pending = Some((tok, end)),
                    None => self.pos = end,
                }
                return Some(Token::Text(decode_text(&self.src[text_start..lt])));
            }
            self.pos = end;
            match tok {
                Some(tok) => return Some(tok),
                None => {
                    text_start = end;
                    scan = end;
                }
            }
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')
}

/// Reads a tag name starting at `i` (known to be a letter); returns it and the index after it.
fn tag_name(src: &str, i: usize) -> (&str, usize) {
    let b = src.as_bytes();
    let mut j = i;
    while j < b.len() && is_name_byte(b[j]) {
        j += 1;
    }
    (&src[i..j], j)
}

/// Index of the next `>` from `i`, or `None` if a `<` or the end comes first (then the opening
/// `<` is text; stopping at `<` is what keeps failed tags from being re-scanned).
fn skip_to_gt(src: &str, i: usize) -> Option<usize> {
    let off = memchr::memchr2(b'>', b'<', &src.as_bytes()[i..])?;
    (src.as_bytes()[i + off] == b'>').then_some(i + off)
}

/// Parses `<name attrs…>` at `lt`. Attribute values may be `'…'`, `"…"` or unquoted; a value
/// without a `=` is empty. A `<` anywhere before the closing `>` (even inside quotes, which XML
/// forbids anyway) means this was not a tag.
fn start_tag(src: &str, lt: usize) -> Option<(Token<'_>, usize)> {
    let b = src.as_bytes();
    let (name, mut i) = tag_name(src, lt + 1);
    if i < b.len() && !(b[i].is_ascii_whitespace() || b[i] == b'>' || b[i] == b'/') {
        return None;
    }
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        match b.get(i).copied()? {
            b'>' => return Some((Token::Start { name, attrs, self_closing: false }, i + 1)),
            b'/' if b.get(i + 1) == Some(&b'>') => {
                return Some((Token::Start { name, attrs, self_closing: true }, i + 2))
            }
            b'/' => {
                i += 1;
                continue;
            }
            b'<' => return None,
            _ => {}
        }
        let n0 = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/' | b'<') {
            i += 1;
        }
        let attr_name = &src[n0..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            attrs.push((attr_name, Cow::Borrowed("")));
            continue;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match b.get(i).copied()? {
            q @ (b'\'' | b'"') => {
                let off = memchr::memchr2(q, b'<', &b[i + 1..])?;
                if b[i + 1 + off] == b'<' {
                    return None;
                }
                let v = &src[i + 1..i + 1 + off];
                i += off + 2;
                v
            }
            _ => {
                let v0 = i;
                let ends_value = |i: usize| {
                    i >= b.len()
                        || b[i].is_ascii_whitespace()
                        || matches!(b[i], b'>' | b'<')
                        || (b[i] == b'/' && b.get(i + 1) == Some(&b'>'))
                };
                while !ends_value(i) {
                    i += 1;
                }
                &src[v0..i]
            }
        };
        attrs.push((attr_name, decode_text(value)));
    }
}

/// The first attribute called `name` (ASCII case-insensitive), if any.
pub(crate) fn attr<'t>(attrs: &'t [(&str, Cow<'_, str>)], name: &str) -> Option<&'t str> {
    attrs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
}

/// Characters XML 1.0 forbids (C0 controls other than tab/LF/CR, U+FFFE, U+FFFF). They are
/// removed everywhere: they cannot be escaped in XML 1.0, and a NUL would cut a C string short.
pub(crate) fn is_forbidden_char(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
}

fn strip_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_allowed(s, &mut out);
    out
}

/// Length in bytes of the forbidden character ([`is_forbidden_char`]) that starts at `b[i]`, or 0:
/// the byte-level form of that rule, for the loops below.
fn forbidden_len(b: &[u8], i: usize) -> usize {
    match b[i] {
        c if c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r') => 1,
        // U+FFFE / U+FFFF; 0xEF is a lead byte, so `i` is a character boundary.
        0xEF if matches!(b.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => 3,
        _ => 0,
    }
}

/// Appends `s` to `out` with every character `subst` maps to a replacement replaced by it and the
/// forbidden characters removed; the rest is copied in runs, not character by character (this is
/// the inner loop of every conversion). `subst` sees only ASCII bytes.
pub(crate) fn push_escaped(s: &str, out: &mut String, subst: impl Fn(u8) -> Option<&'static str>) {
    let b = s.as_bytes();
    let (mut from, mut i) = (0, 0);
    while i < b.len() {
        let replaced = if b[i].is_ascii() { subst(b[i]) } else { None };
        let skip = match (replaced, forbidden_len(b, i)) {
            (Some(rep), _) => {
                out.push_str(&s[from..i]);
                out.push_str(rep);
                1
            }
            (None, 0) => {
                i += 1;
                continue;
            }
            (None, n) => {
                out.push_str(&s[from..i]);
                n
            }
        };
        i += skip;
        from = i;
    }
    out.push_str(&s[from..]);
}

/// Appends `s` without its forbidden characters.
pub(crate) fn push_allowed(s: &str, out: &mut String) {
    push_escaped(s, out, |_| None)
}

/// Whether `s` contains a forbidden character.
fn has_forbidden(s: &str) -> bool {
    let b = s.as_bytes();
    // Cheap first pass, in blocks without early exit so that it vectorises: no control byte and
    // no 0xEF (lead byte of U+FFFE/U+FFFF) means nothing to drop, which is nearly always the case.
    let maybe = b.chunks(32).any(|block| block.iter().fold(false, |hit, &c| hit | (c < 0x20) | (c == 0xEF)));
    maybe && (0..b.len()).any(|i| forbidden_len(b, i) > 0)
}

/// Decodes one entity at the start of `s` (which begins with `&`): the XML five, the few HTML
/// ones libpurple emits, and numeric references. Returns the character and the bytes consumed.
fn entity(s: &str) -> Option<(char, usize)> {
    // Longest accepted body: "#x10FFFF" / "#1114111"; anything longer is not an entity.
    const MAX_BODY: usize = 8;
    let semi = s.as_bytes().iter().take(MAX_BODY + 2).position(|&b| b == b';')?;
    let body = &s[1..semi];
    let c = if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).ok()?
            }
            None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => num.parse().ok()?,
            _ => return None,
        };
        char::from_u32(code)?
    } else {
        match body {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            // libpurple's own entity set; a non-breaking space becomes a plain one, as there.
            "nbsp" => ' ',
            "copy" => '©',
            "reg" => '®',
            _ => return None,
        }
    };
    Some((c, semi + 1))
}

/// Decodes entities and drops forbidden characters. An `&` that does not start a known entity
/// stays a literal `&` (it is re-escaped on output). Borrows when there is nothing to change.
pub(crate) fn decode_text(raw: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', raw.as_bytes()).is_none() && !has_forbidden(raw) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = memchr::memchr(b'&', rest.as_bytes()) {
        push_allowed(&rest[..i], &mut out);
        rest = &rest[i..];
        match entity(rest) {
            Some((c, used)) => {
                if !is_forbidden_char(c) {
                    out.push(c);
                }
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    push_allowed(rest, &mut out);
    Cow::Owned(out)
}

/// Strict check: tags closed in order, attribute values quoted with no raw `<` and only valid
/// entities, text with no raw `<` and no bare `&`, no forbidden characters.
pub fn is_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    let mut stack: Vec<&str> = Vec::new();
    let mut i = 0;
    // Only the XML entities count: HTML names such as `&nbsp;` would not parse as XML.
    let entity_ok = |i: usize| match entity(&s[i..]) {
        Some((c, used)) => {
            let body = &s[i + 1..i + used - 1];
            !is_forbidden_char(c) && (body.starts_with('#') || matches!(body, "amp" | "lt" | "gt" | "quot" | "apos"))
        }
        None => false,
    };
    if s.chars().any(is_forbidden_char) {
        return false;
    }
    while i < b.len() {
        match b[i] {
            b'&' => {
                if !entity_ok(i) {
                    return false;
                }
                i += 1;
            }
            b'<' => {
                let closing = b.get(i + 1) == Some(&b'/');
                let n0 = i + 1 + usize::from(closing);
                if !b.get(n0).is_some_and(u8::is_ascii_alphabetic) {
                    return false;
                }
                let (name, mut j) = tag_name(s, n0);
                if closing {
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if b.get(j) != Some(&b'>') || stack.pop() != Some(name) {
                        return false;
                    }
                    i = j + 1;
                    continue;
                }
                loop {
                    let ws = j < b.len() && b[j].is_ascii_whitespace();
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    match b.get(j) {
                        Some(b'>') => {
                            stack.push(name);
                            i = j + 1;
                            break;
                        }
                        Some(b'/') if b.get(j + 1) == Some(&b'>') => {
                            i = j + 2;
                            break;
                        }
                        Some(c) if ws && c.is_ascii_alphabetic() => {
                            let (_, k) = tag_name(s, j);
                            if b.get(k) != Some(&b'=') {
                                return false;
                            }
                            let q = match b.get(k + 1) {
                                Some(&q @ (b'\'' | b'"')) => q,
                                _ => return false,
                            };
                            let Some(len) = b[k + 2..].iter().position(|&c| c == q) else {
                                return false;
                            };
                            let value = k + 2..k + 2 + len;
                            let bad = |v: usize| b[v] == b'<' || (b[v] == b'&' && !entity_ok(v));
                            if value.into_iter().any(bad) {
                                return false;
                            }
                            j = k + 2 + len + 1;
                        }
                        _ => return false,
                    }
                }
            }
            _ => i += 1,
        }
    }
    stack.is_empty()
}
