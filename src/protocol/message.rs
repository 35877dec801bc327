//! One MSIM message: an ordered list of key/value pairs (SPEC §2.1, §4).
//!
//! The message keeps its exact wire text (without the `\final\` terminator) and an index of field
//! spans into it, so parsing is one copy and one scan, lookups borrow, and re-encoding a parsed
//! message gives back the identical bytes. Values stay raw until read as a type; typed getters
//! return errors, never defaults (SPEC §24).

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;

use super::dict::{Dict, DictBuilder, DictError};
use super::escape;
use super::list::{List, ListBuilder};

/// The 7-byte terminator of every message (SPEC §2.1).
pub const FINAL: &[u8] = b"\\final\\";

/// Why a frame is not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message does not start with a backslash")]
    NoLeadingBackslash,
    #[error("message is empty")]
    Empty,
}

/// Why a field could not be read as the requested type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("field `{0}` is missing")]
    Missing(String),
    #[error("field `{0}` is not valid UTF-8")]
    NotUtf8(String),
    #[error("field `{0}` is not an integer in range")]
    BadInteger(String),
    #[error("field `{0}` is not valid base64")]
    BadBase64(String),
    #[error("field `{field}` has length {got}, expected {expected}")]
    BadLength { field: String, got: usize, expected: usize },
    #[error("field `{0}` holds a malformed dictionary: {1}")]
    BadDict(String, DictError),
    #[error("field `{0}` has an unexpected value")]
    BadValue(String),
}

/// Why a message could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("key `{0}` is not a valid key (empty, `final`, or contains a backslash)")]
    BadKey(String),
    #[error("value of `{0}` would be exactly `final`, which ends a message early (SPEC §2.2)")]
    BareFinal(String),
    #[error("raw value of `{0}` contains a backslash")]
    BackslashInRaw(String),
    #[error("dictionary for `{0}`: {1}")]
    Dict(String, DictError),
}

/// An ordered MSIM message; see the module docs.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Message {
    text: Vec<u8>,
    /// Positions of the token boundaries: every backslash of `text` (the leading one first),
    /// then `text.len()`. Token `t` is `text[marks[t] + 1..marks[t + 1]]`; field `i` is tokens
    /// `2i` (key) and `2i + 1` (value). Empty when the message has no fields.
    marks: Vec<u32>,
}

/// What [`Message::parse_to_final`] found.
pub(crate) enum Scanned {
    /// `\final\` starts at this offset: the frame is the bytes before it.
    Frame(usize),
    /// No `\final\` in the bytes given.
    Incomplete,
}

impl Message {
    /// Parses one frame (the bytes before `\final\`, as the [`super::Framer`] yields them).
    pub fn parse(frame: &[u8]) -> Result<Message, ParseError> {
        let mut m = Message::default();
        m.parse_into(frame)?;
        Ok(m)
    }

    /// Parses into `self`, reusing its buffers (no allocation once they are large enough).
    /// Tokens alternate key, value; a trailing key without a value is dropped (SPEC §2.2).
    pub fn parse_into(&mut self, frame: &[u8]) -> Result<(), ParseError> {
        self.text.clear();
        self.marks.clear();
        Self::check_start(frame)?;
        self.text.extend_from_slice(frame);
        super::scan::backslashes(frame, &mut self.marks);
        self.marks.push(frame.len() as u32);
        Ok(())
    }

    fn check_start(frame: &[u8]) -> Result<(), ParseError> {
        match frame.first() {
            None => Err(ParseError::Empty),
            Some(b'\\') if frame.len() >= 2 => Ok(()),
            Some(b'\\') => Err(ParseError::Empty),
            Some(_) => Err(ParseError::NoLeadingBackslash),
        }
    }

    /// Framing and parsing in one pass (the [`super::Framer`]'s fast path): scans `data` (a
    /// stream positioned at a frame's start) for backslashes and stops at the first `\final\` —
    /// the one a substring search would find, since it starts with a backslash. On `Frame`,
    /// `self` holds the frame as after [`Message::parse_into`] on the same bytes (`result` says
    /// whether it parsed; on an error `self` keeps the raw frame, with no fields). On
    /// `Incomplete` `self` is undefined. Bytes past `limit` are not searched.
    #[inline(always)]
    pub(crate) fn parse_to_final(&mut self, data: &[u8], limit: usize) -> (Scanned, Result<(), ParseError>) {
        self.marks.clear();
        self.text.clear();
        let data = &data[..data.len().min(limit)];
        let Some(end) = super::scan::scan_to_final(data, &mut self.marks, &mut self.text) else {
            return (Scanned::Incomplete, Ok(()));
        };
        self.text.truncate(end);
        if let Err(e) = Self::check_start(&self.text) {
            self.marks.clear();
            return (Scanned::Frame(end), Err(e));
        }
        self.marks.push(end as u32);
        (Scanned::Frame(end), Ok(()))
    }

    /// Holds `frame` as raw text with no fields (a frame that did not parse, kept for
    /// diagnostics).
    pub(crate) fn set_raw(&mut self, frame: &[u8]) {
        self.text.clear();
        self.text.extend_from_slice(frame);
        self.marks.clear();
    }

    /// Starts a message whose first key is `kind` with a raw value (`\persistr\\`, `\bm\1`, …).
    pub fn build(kind: &str) -> MessageBuilder {
        MessageBuilder::new().raw(kind, b"")
    }

    /// The whole message on the wire, `\final\` included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + FINAL.len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the wire form, `\final\` included, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.text);
        out.extend_from_slice(FINAL);
    }

    /// The wire text without the terminator.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.marks.len().saturating_sub(1) / 2
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Token `t` (see `marks`).
    #[inline(always)]
    fn token(&self, t: usize) -> &[u8] {
        &self.text[self.marks[t] as usize + 1..self.marks[t + 1] as usize]
    }

    /// All pairs in order, duplicates included: (key, raw value).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        (0..self.len()).map(move |i| (self.token(2 * i), self.token(2 * i + 1)))
    }

    /// The first key and its raw value: the message kind (SPEC §2.1).
    #[inline]
    pub fn kind(&self) -> Option<(&[u8], &[u8])> {
        (!self.is_empty()).then(|| (self.token(0), self.token(1)))
    }

    /// True when the first key is `key`.
    #[inline]
    pub fn is_kind(&self, key: &str) -> bool {
        self.kind().is_some_and(|(k, _)| k == key.as_bytes())
    }

    /// Raw value of the first field named `key` (SPEC §2.2: first wins).
    // Inlined into each caller: the key is nearly always a literal, so its length, first byte and
    // comparison become constants there.
    #[inline(always)]
    pub fn get_raw(&self, key: &str) -> Option<&[u8]> {
        let key = key.as_bytes();
        let (m, t) = (&self.marks[..], &self.text[..]);
        let (_, pairs) = m.split_last()?;
        let len = key.len() as u32;
        let first = key.first().copied().unwrap_or(b'\\');
        for (i, p) in pairs.chunks_exact(2).enumerate() {
            // The key's length, then its first byte, decide for nearly every field; only a
            // field that passes both is compared in full.
            let (kb, vb) = (p[0] as usize, p[1] as usize);
            if p[1] - p[0] - 1 == len && (len == 0 || t[kb + 1] == first) && same_bytes(&t[kb + 1..vb], key) {
                return Some(&t[vb + 1..m[2 * i + 2] as usize]);
            }
        }
        None
    }

    /// Boolean-by-presence: any value counts as true (SPEC §4.3, §24).
    pub fn has(&self, key: &str) -> bool {
        self.get_raw(key).is_some()
    }

    fn require(&self, key: &str) -> Result<&[u8], FieldError> {
        self.get_raw(key).ok_or_else(|| FieldError::Missing(key.to_owned()))
    }

    /// A string value, unescaped (SPEC §3, §4.2).
    pub fn get_str(&self, key: &str) -> Result<Cow<'_, str>, FieldError> {
        decode_str(key, self.require(key)?)
    }

    /// An unsigned decimal integer, strictly parsed (SPEC §24: no `atoi`).
    pub fn get_u64(&self, key: &str) -> Result<u64, FieldError> {
        parse_u64(self.require(key)?).ok_or_else(|| FieldError::BadInteger(key.to_owned()))
    }

    pub fn get_u32(&self, key: &str) -> Result<u32, FieldError> {
        let v = self.get_u64(key)?;
        u32::try_from(v).map_err(|_| FieldError::BadInteger(key.to_owned()))
    }

    /// A signed decimal integer (Pidgin prints unsigned values with `%d`, SPEC §4.1).
    pub fn get_i64(&self, key: &str) -> Result<i64, FieldError> {
        parse_i64(self.require(key)?).ok_or_else(|| FieldError::BadInteger(key.to_owned()))
    }

    /// A top-level base64 value, not escaped (SPEC §4.4).
    pub fn get_base64(&self, key: &str) -> Result<Vec<u8>, FieldError> {
        base64::engine::general_purpose::STANDARD
            .decode(self.require(key)?)
            .map_err(|_| FieldError::BadBase64(key.to_owned()))
    }

    /// A 0x1C dictionary value (SPEC §4.5), borrowing from this message.
    pub fn get_dict(&self, key: &str) -> Result<Dict<'_>, FieldError> {
        Dict::parse(self.require(key)?).map_err(|e| FieldError::BadDict(key.to_owned(), e))
    }

    /// A `|` list value (SPEC §4.6), borrowing from this message.
    pub fn get_list(&self, key: &str) -> Result<List<'_>, FieldError> {
        Ok(List::parse(self.require(key)?))
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Message({:?})", String::from_utf8_lossy(&self.text))
    }
}

/// `a == b` for short slices of equal length (keys): compared inline, since a `memcmp` call costs
/// more than comparing a few bytes.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Reads a raw escaped value as a string.
pub(crate) fn decode_str<'a>(key: &str, raw: &'a [u8]) -> Result<Cow<'a, str>, FieldError> {
    match escape::unescape(raw) {
        Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed),
        Cow::Owned(v) => String::from_utf8(v).map(Cow::Owned).map_err(|e| e.utf8_error()),
    }
    .map_err(|_| FieldError::NotUtf8(key.to_owned()))
}

/// Strict unsigned decimal: one or more ASCII digits, no sign, no spaces, fits in 64 bits.
pub fn parse_u64(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || raw.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in raw {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Strict signed decimal: an optional `-`, then [`parse_u64`] rules.
pub fn parse_i64(raw: &[u8]) -> Option<i64> {
    match raw.split_first() {
        Some((b'-', rest)) => {
            let v = parse_u64(rest)?;
            if v == 1u64 << 63 {
                Some(i64::MIN)
            } else {
                i64::try_from(v).ok().map(|v| -v)
            }
        }
        _ => i64::try_from(parse_u64(raw)?).ok(),
    }
}

/// Formats `v` in decimal into `buf` without allocating (serialising is on every send path).
pub(crate) fn format_u64(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Builds a message field by field, escaping as each type requires; the first error is kept and
/// returned by [`MessageBuilder::finish`], so call chains stay readable.
#[derive(Debug, Default)]
pub struct MessageBuilder {
    msg: Message,
    error: Option<EncodeError>,
}

impl MessageBuilder {
    pub fn new() -> Self {
        // Most messages are under 256 bytes and 8 fields; reserving once avoids regrowth.
        MessageBuilder { msg: Message { text: Vec::with_capacity(256), marks: Vec::with_capacity(17) }, error: None }
    }

    /// A raw value written as is: integers, top-level base64, flags. Must not contain `\`.
    pub fn raw(mut self, key: &str, value: &[u8]) -> Self {
        if self.error.is_some() {
            return self;
        }
        if key.is_empty() || key == "final" || key.contains('\\') {
            self.error = Some(EncodeError::BadKey(key.to_owned()));
            return self;
        }
        if value.contains(&b'\\') {
            self.error = Some(EncodeError::BackslashInRaw(key.to_owned()));
            return self;
        }
        if value == b"final" {
            self.error = Some(EncodeError::BareFinal(key.to_owned()));
            return self;
        }
        let (t, m) = (&mut self.msg.text, &mut self.msg.marks);
        m.pop(); // the end mark; re-added after this field
        m.push(t.len() as u32);
        t.push(b'\\');
        t.extend_from_slice(key.as_bytes());
        m.push(t.len() as u32);
        t.push(b'\\');
        t.extend_from_slice(value);
        m.push(t.len() as u32);
        self
    }

    /// A string value, escaped (SPEC §3).
    pub fn str(self, key: &str, value: &str) -> Self {
        let escaped = escape::escape(value);
        self.raw(key, escaped.as_bytes())
    }

    /// An unsigned integer value.
    pub fn int(self, key: &str, value: u64) -> Self {
        let mut buf = [0u8; 20];
        self.raw(key, format_u64(value, &mut buf))
    }

    /// A signed integer value.
    pub fn signed(self, key: &str, value: i64) -> Self {
        self.raw(key, value.to_string().as_bytes())
    }

    /// A true boolean: the key with an empty value (SPEC §4.3). False booleans are omitted.
    pub fn flag(self, key: &str) -> Self {
        self.raw(key, b"")
    }

    /// Optional flag: written only when `on`.
    pub fn flag_if(self, key: &str, on: bool) -> Self {
        if on {
            self.flag(key)
        } else {
            self
        }
    }

    /// Binary data as top-level base64, not escaped (SPEC §4.4).
    pub fn base64(self, key: &str, data: &[u8]) -> Self {
        let enc = base64::engine::general_purpose::STANDARD.encode(data);
        self.raw(key, enc.as_bytes())
    }

    /// A dictionary body (SPEC §4.5).
    pub fn dict(mut self, key: &str, dict: &DictBuilder) -> Self {
        match dict.as_bytes() {
            Ok(b) => self.raw(key, b),
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(EncodeError::Dict(key.to_owned(), e));
                }
                self
            }
        }
    }

    /// A `|` list (SPEC §4.6).
    pub fn list(self, key: &str, list: &ListBuilder) -> Self {
        self.raw(key, list.as_bytes())
    }

    pub fn finish(self) -> Result<Message, EncodeError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_fields_in_order_and_first_wins() {
        let m = Message::parse(b"\\a\\1\\b\\x/1y\\a\\2\\c\\").unwrap();
        let pairs: Vec<_> = m.iter().collect();
        assert_eq!(pairs, vec![(&b"a"[..], &b"1"[..]), (b"b", b"x/1y"), (b"a", b"2"), (b"c", b"")]);
        assert_eq!(m.get_u32("a"), Ok(1));
        assert_eq!(m.get_str("b").unwrap(), "x/y");
        assert!(m.has("c"));
        assert!(!m.has("d"));
        assert_eq!(m.get_u32("d"), Err(FieldError::Missing("d".into())));
    }

    #[test]
    fn trailing_key_without_value_is_dropped_but_bytes_kept() {
        let m = Message::parse(b"\\a\\1\\dangling").unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m.encode(), b"\\a\\1\\dangling\\final\\");
    }

    #[test]
    fn rejects_frames_not_starting_with_backslash() {
        assert_eq!(Message::parse(b""), Err(ParseError::Empty));
        assert_eq!(Message::parse(b"\\"), Err(ParseError::Empty));
        assert_eq!(Message::parse(b"\nx\\a\\1"), Err(ParseError::NoLeadingBackslash));
    }

    #[test]
    fn integers_are_strict() {
        let m = Message::parse(b"\\a\\12x\\b\\\\c\\-5\\d\\99999999999\\e\\ 1").unwrap();
        for k in ["a", "b", "e"] {
            assert_eq!(m.get_u64(k), Err(FieldError::BadInteger(k.into())), "{k}");
        }
        assert_eq!(m.get_i64("c"), Ok(-5));
        assert_eq!(m.get_u64("d"), Ok(99_999_999_999));
        assert_eq!(m.get_u32("d"), Err(FieldError::BadInteger("d".into())));
    }

    #[test]
    fn builder_escapes_and_refuses_bare_final() {
        let m = Message::build("bm").int("t", 5).str("msg", "a/b\\c").flag("x").finish().unwrap();
        assert_eq!(m.encode(), b"\\bm\\\\t\\5\\msg\\a/1b/2c\\x\\\\final\\");
        assert_eq!(Message::build("bm").str("msg", "final").finish(), Err(EncodeError::BareFinal("msg".into())));
        assert!(matches!(Message::build("final").finish(), Err(EncodeError::BadKey(_))));
        assert!(matches!(Message::build("a\\b").finish(), Err(EncodeError::BadKey(_))));
    }

    #[test]
    fn base64_top_level_is_not_escaped() {
        let m = Message::build("lc").base64("nc", &[0xff; 6]).finish().unwrap();
        assert_eq!(m.get_raw("nc"), Some(&b"////////"[..]));
        assert_eq!(m.get_base64("nc").unwrap(), vec![0xff; 6]);
    }

    fn arb_fields() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("[a-zA-Z][a-zA-Z0-9]{0,8}", ".{0,20}"), 1..12)
    }

    proptest! {
        #[test]
        fn iter_gives_the_tokens_between_backslashes_in_pairs(text in proptest::collection::vec(prop_oneof![Just(b'\\'), Just(b'a'), any::<u8>()], 1..200)) {
            // Reference: split on every backslash; pairs of tokens after the leading one.
            let mut frame = vec![b'\\'];
            frame.extend_from_slice(&text);
            let m = Message::parse(&frame);
            if frame.len() < 2 {
                prop_assert!(m.is_err());
            } else {
                let m = m.unwrap();
                let tokens: Vec<&[u8]> = frame[1..].split(|b| *b == b'\\').collect();
                let want: Vec<(&[u8], &[u8])> = tokens.chunks_exact(2).map(|c| (c[0], c[1])).collect();
                let got: Vec<(&[u8], &[u8])> = m.iter().collect();
                prop_assert_eq!(&got, &want);
                for (k, v) in &want {
                    if let Ok(key) = std::str::from_utf8(k) {
                        let first = want.iter().find(|(k2, _)| k2 == k).unwrap().1;
                        prop_assert_eq!(m.get_raw(key), Some(first));
                        let _ = v;
                    }
                }
            }
        }

        #[test]
        fn get_raw_finds_what_a_linear_search_finds_for_present_and_absent_keys(
            fields in proptest::collection::vec(("[ab]{0,6}", "[ab]{0,3}"), 0..10)) {
            let mut frame = Vec::new();
            for (k, v) in &fields {
                frame.extend_from_slice(format!("\\{k}\\{v}").as_bytes());
            }
            let Ok(m) = Message::parse(&frame) else { return Ok(()) };
            // Every key of 0–6 `a`/`b` bytes: those of the message and many that are absent.
            for len in 0..=6u32 {
                for bits in 0..1u32 << len {
                    let key: String = (0..len).map(|i| if bits >> i & 1 == 1 { 'b' } else { 'a' }).collect();
                    let want = fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_bytes());
                    prop_assert_eq!(m.get_raw(&key), want, "key {:?}", key);
                }
            }
        }

        #[test]
        fn parse_of_encode_is_identity(fields in arb_fields()) {
            let mut b = MessageBuilder::new();
            for (k, v) in &fields {
                b = b.str(k, v);
            }
            let Ok(m) = b.finish() else { return Ok(()) }; // only a bare `final` is refused
            let wire = m.encode();
            let frame = &wire[..wire.len() - FINAL.len()];
            let back = Message::parse(frame).unwrap();
            prop_assert_eq!(&back, &m);
            for ((k, v), (bk, _)) in fields.iter().zip(back.iter()) {
                prop_assert_eq!(k.as_bytes(), bk);
                let _ = v;
            }
            for (k, v) in &fields {
                // first-wins lookup returns the first value for that key
                let first = fields.iter().find(|(k2, _)| k2 == k).unwrap();
                prop_assert_eq!(back.get_str(k).unwrap(), first.1.as_str());
                let _ = v;
            }
        }
    }
}
