//! 0x1C dictionaries ("bodies", SPEC §4.5): `k1=v1<1C>k2=v2…`, ordered, duplicates kept.
//!
//! [`Dict`] borrows from the message it was read from; values stay escaped until read as a type.
//! [`Dict::records`] groups repeated keys into records (contact lists, group lists, challenges).

use std::borrow::Cow;

use super::escape;
use super::message::{decode_str, parse_u64, FieldError};

/// The pair separator inside a dictionary.
pub const SEP: u8 = 0x1C;

/// Upper bound on pairs in one dictionary. A 256 KiB frame can hold ~85 000 two-byte pairs; no real
/// reply has more than a few thousand (MaxContacts=1000 × ~12 keys, SPEC §8), so 32 768 leaves room
/// for every real list while keeping a hostile body from costing more than ~1 MiB of index.
pub const MAX_PAIRS: usize = 32_768;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DictError {
    #[error("item {0} has no `=`")]
    MissingEquals(usize),
    #[error("more than {MAX_PAIRS} pairs")]
    TooManyPairs,
    #[error("key `{0}` is empty or contains `=`, 0x1C or a backslash")]
    BadKey(String),
    #[error("value of `{0}` contains 0x1C, which cannot be escaped")]
    SeparatorInValue(String),
}

/// A parsed dictionary borrowing from its message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dict<'a> {
    pairs: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Dict<'a> {
    /// Parses a body. Empty items (a trailing 0x1C) are skipped; an item with text but no `=` is an
    /// error (Pidgin silently dropped the rest of the body, SPEC §4.5 — we report it, §24).
    pub fn parse(raw: &'a [u8]) -> Result<Dict<'a>, DictError> {
        if raw.is_empty() {
            return Ok(Dict { pairs: Vec::new() });
        }
        // One pass over the item separators and `=` signs together (16 bytes at a time); most
        // bodies have fewer than 16 pairs, so that much is reserved once.
        let mut pairs = Vec::with_capacity(16);
        let (mut start, mut eq, mut index) = (0usize, None::<usize>, 0usize);
        let mut error = None;
        let mut finish = |start: usize, end: usize, eq: Option<usize>, index: usize| {
            if start == end || error.is_some() {
                return;
            }
            match eq {
                None => error = Some(DictError::MissingEquals(index)),
                Some(_) if pairs.len() == MAX_PAIRS => error = Some(DictError::TooManyPairs),
                Some(e) => pairs.push((&raw[start..e], &raw[e + 1..end])),
            }
        };
        super::scan::for_each_of2(raw, SEP, b'=', |p, b| {
            if b == SEP {
                finish(start, p, eq, index);
                (start, eq, index) = (p + 1, None, index + 1);
            } else if eq.is_none() {
                eq = Some(p);
            }
        });
        finish(start, raw.len(), eq, index);
        if let Some(e) = error {
            return Err(e);
        }
        Ok(Dict { pairs })
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// All pairs in order: (key, raw escaped value).
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.pairs.iter().copied()
    }

    /// First raw value for `key`.
    pub fn get_raw(&self, key: &str) -> Option<&'a [u8]> {
        let key = key.as_bytes();
        // Length and first byte first: most keys are passed over without a comparison call.
        let first = key.first();
        self.pairs.iter().find(|(k, _)| k.len() == key.len() && k.first() == first && *k == key).map(|(_, v)| *v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get_raw(key).is_some()
    }

    fn require(&self, key: &str) -> Result<&'a [u8], FieldError> {
        self.get_raw(key).ok_or_else(|| FieldError::Missing(key.to_owned()))
    }

    /// A string value, unescaped.
    pub fn get_str(&self, key: &str) -> Result<Cow<'a, str>, FieldError> {
        decode_str(key, self.require(key)?)
    }

    /// A string value if present; `Ok(None)` when the key is absent.
    pub fn opt_str(&self, key: &str) -> Result<Option<Cow<'a, str>>, FieldError> {
        self.get_raw(key).map(|raw| decode_str(key, raw)).transpose()
    }

    pub fn get_u64(&self, key: &str) -> Result<u64, FieldError> {
        parse_u64(self.require(key)?).ok_or_else(|| FieldError::BadInteger(key.to_owned()))
    }

    pub fn get_u32(&self, key: &str) -> Result<u32, FieldError> {
        u32::try_from(self.get_u64(key)?).map_err(|_| FieldError::BadInteger(key.to_owned()))
    }

    /// An optional integer: absent or empty → `None`; present but not a number → error.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, FieldError> {
        match self.get_raw(key) {
            None | Some(b"") => Ok(None),
            Some(raw) => parse_u64(raw).map(Some).ok_or_else(|| FieldError::BadInteger(key.to_owned())),
        }
    }

    /// A dictionary boolean: `On`/`True`/`1` or `Off`/`False`/`0` (SPEC §4.3), case-insensitive.
    pub fn get_bool(&self, key: &str) -> Result<bool, FieldError> {
        parse_bool(self.require(key)?).ok_or_else(|| FieldError::BadValue(key.to_owned()))
    }

    /// Splits into records, each starting where `first_key` appears again after other keys.
    /// Consecutive repeats of `first_key` stay in one record (the 0/2 reply repeats `ContactID`,
    /// SPEC §7.5). Pairs before the first `first_key` form no record.
    pub fn records(&self, first_key: &str) -> Vec<Dict<'a>> {
        let key = first_key.as_bytes();
        let mut out: Vec<Dict<'a>> = Vec::new();
        let mut current: Option<Dict<'a>> = None;
        // Whether `current` holds only `first_key` pairs so far: tracked rather than rescanned, so
        // a hostile body of thousands of repeats costs linear time, not quadratic.
        let mut only_key = false;
        for &(k, v) in &self.pairs {
            if k == key {
                let continues = current.is_some() && only_key;
                if !continues {
                    if let Some(c) = current.take() {
                        out.push(c);
                    }
                    current = Some(Dict::default());
                    only_key = true;
                }
            } else {
                only_key = false;
            }
            if let Some(c) = current.as_mut() {
                c.pairs.push((k, v));
            }
        }
        out.extend(current);
        out
    }
}

/// Reads `On`/`True`/`1` and `Off`/`False`/`0`.
pub fn parse_bool(raw: &[u8]) -> Option<bool> {
    if raw.eq_ignore_ascii_case(b"on") || raw.eq_ignore_ascii_case(b"true") || raw == b"1" {
        Some(true)
    } else if raw.eq_ignore_ascii_case(b"off") || raw.eq_ignore_ascii_case(b"false") || raw == b"0" {
        Some(false)
    } else {
        None
    }
}

/// Builds a dictionary body with values escaped; the first error is kept until
/// [`DictBuilder::as_bytes`] (the message builder reports it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DictBuilder {
    buf: Vec<u8>,
    error: Option<DictError>,
}

impl DictBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A raw value written as is (integers, words like `True`); must not contain 0x1C or `\`.
    pub fn raw(mut self, key: &str, value: &[u8]) -> Self {
        if self.error.is_some() {
            return self;
        }
        if key.is_empty() || key.bytes().any(|b| b == b'=' || b == SEP || b == b'\\') {
            self.error = Some(DictError::BadKey(key.to_owned()));
            return self;
        }
        if value.contains(&SEP) || value.contains(&b'\\') {
            self.error = Some(DictError::SeparatorInValue(key.to_owned()));
            return self;
        }
        if !self.buf.is_empty() {
            self.buf.push(SEP);
        }
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.push(b'=');
        self.buf.extend_from_slice(value);
        self
    }

    /// A string value, escaped (SPEC §3).
    pub fn str(self, key: &str, value: &str) -> Self {
        let mut esc = Vec::with_capacity(value.len());
        escape::escape_into(value.as_bytes(), &mut esc);
        self.raw(key, &esc)
    }

    pub fn int(self, key: &str, value: u64) -> Self {
        let mut buf = [0u8; 20];
        self.raw(key, super::message::format_u64(value, &mut buf))
    }

    /// A boolean as the server writes it: `True`/`False` (SPEC §4.3).
    pub fn bool(self, key: &str, value: bool) -> Self {
        self.raw(key, if value { b"True" } else { b"False" })
    }

    /// Appends every pair of a parsed dictionary unchanged (values stay escaped).
    pub fn extend_raw(mut self, d: &Dict<'_>) -> Self {
        for (k, v) in d.iter() {
            match std::str::from_utf8(k) {
                Ok(k) => self = self.raw(k, v),
                Err(_) => {
                    self.error.get_or_insert(DictError::BadKey(String::from_utf8_lossy(k).into_owned()));
                }
            }
        }
        self
    }

    /// The body bytes, or the first error met while building.
    pub fn as_bytes(&self) -> Result<&[u8], DictError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(&self.buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_with_equals_in_values_and_duplicates() {
        let d = Dict::parse(b"A=1\x1cB=x=y\x1cA=2\x1cC=").unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!(d.get_u32("A"), Ok(1));
        assert_eq!(d.get_str("B").unwrap(), "x=y");
        assert_eq!(d.get_str("C").unwrap(), "");
    }

    #[test]
    fn item_without_equals_is_an_error() {
        assert_eq!(Dict::parse(b"A=1\x1cjunk\x1cB=2"), Err(DictError::MissingEquals(1)));
        assert_eq!(Dict::parse(b"").unwrap().len(), 0);
        assert_eq!(Dict::parse(b"A=1\x1c").unwrap().len(), 1);
    }

    #[test]
    fn records_keep_consecutive_first_keys_together() {
        let d = Dict::parse(b"ContactID=1\x1cContactID=1\x1cN=a\x1cContactID=2\x1cN=b").unwrap();
        let r = d.records("ContactID");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].len(), 3);
        assert_eq!(r[1].get_str("N").unwrap(), "b");
    }

    #[test]
    fn records_of_max_pairs_repeats_take_linear_time() {
        // A hostile body of MAX_PAIRS repeats of the first key was quadratic (seconds of CPU per
        // frame, ~7 s in a debug build for a 256 KiB frame); now it is a single record, fast.
        let body = vec!["ContactID=1"; MAX_PAIRS].join("\x1c");
        let d = Dict::parse(body.as_bytes()).unwrap();
        let t = std::time::Instant::now();
        let r = d.records("ContactID");
        assert_eq!((r.len(), r[0].len()), (1, MAX_PAIRS));
        assert!(t.elapsed() < std::time::Duration::from_millis(500), "{:?}", t.elapsed());
        // Pairs before the first key still form no record; a new key after other keys starts one.
        let d = Dict::parse(b"X=0\x1cContactID=1\x1cN=a\x1cContactID=2\x1cContactID=3\x1cN=b").unwrap();
        let r = d.records("ContactID");
        assert_eq!(r.iter().map(Dict::len).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn builder_escapes_and_rejects_separator() {
        let b = DictBuilder::new().str("U", "http://x").int("N", 3).bool("B", true);
        assert_eq!(b.as_bytes().unwrap(), b"U=http:/1/1x\x1cN=3\x1cB=True");
        assert!(DictBuilder::new().str("U", "a\x1cb").as_bytes().is_err());
        assert!(DictBuilder::new().str("a=b", "x").as_bytes().is_err());
    }

    #[test]
    fn booleans_in_every_spelling() {
        let d = Dict::parse(b"a=On\x1cb=False\x1cc=1\x1cd=maybe").unwrap();
        assert_eq!(d.get_bool("a"), Ok(true));
        assert_eq!(d.get_bool("b"), Ok(false));
        assert_eq!(d.get_bool("c"), Ok(true));
        assert!(d.get_bool("d").is_err());
    }
}
