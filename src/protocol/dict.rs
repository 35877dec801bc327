//! 0x1C dictionaries ("bodies", SPEC §4.5): `k1=v1<1C>k2=v2…`, ordered, duplicates kept.
//!
//! [`Dict`] borrows from the message it was read from; values stay escaped until read as a type.
//! [`Dict::records`] groups repeated keys into records (contact lists, group lists, challenges).

use std::borrow::Cow;
use std::fmt;

use super::pairs::Pairs;
use super::scan;

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
    /// Offsets are kept as u32; no frame comes near (SPEC §24 caps them at 256 KiB).
    #[error("body longer than 4 GiB")]
    TooLong,
    #[error("key `{0}` is empty or contains `=`, 0x1C or a backslash")]
    BadKey(String),
    #[error("value of `{0}` contains 0x1C, which cannot be escaped")]
    SeparatorInValue(String),
}

/// A parsed dictionary borrowing from its message.
///
/// It keeps the body and where each pair is in it (`protocol/pairs.rs`): parsing a message body
/// allocates nothing, and the whole `Dict` is 112 bytes (moved without a `memcpy` call).
#[derive(Clone, Default)]
pub struct Dict<'a> {
    raw: &'a [u8],
    pairs: Pairs,
}

impl<'a> Dict<'a> {
    /// Parses a body. Empty items (a trailing 0x1C) are skipped; an item with text but no `=` is an
    /// error (Pidgin silently dropped the rest of the body, SPEC §4.5 — we report it, §24).
    #[inline(always)]
    pub fn parse(raw: &'a [u8]) -> Result<Dict<'a>, DictError> {
        if u32::try_from(raw.len()).is_err() {
            return Err(DictError::TooLong);
        }
        let mut dict = Dict { raw, pairs: Pairs::for_body(raw.len()) };
        index(raw, &mut dict.pairs)?;
        Ok(dict)
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.len() == 0
    }

    /// The key of the pair whose `=` is at `eq`: back to the previous separator (keys are short).
    #[inline(always)]
    fn key_before(&self, eq: usize) -> &'a [u8] {
        let start = self.raw[..eq].iter().rposition(|&b| b == SEP).map_or(0, |p| p + 1);
        &self.raw[start..eq]
    }

    /// All pairs in order: (key, raw escaped value).
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.pairs.iter().map(|(eq, end)| (self.key_before(eq), &self.raw[eq + 1..end]))
    }

    /// First raw value for `key`.
    // Inlined into each caller, as `Message::get_raw`: the key is nearly always a literal.
    #[inline(always)]
    pub fn get_raw(&self, key: &str) -> Option<&'a [u8]> {
        let key = key.as_bytes();
        let (raw, len) = (self.raw, key.len());
        // The byte before where the key would start must be the separator (or the body's start);
        // only then are the bytes compared, inline (keys are short: a `memcmp` call costs more).
        let (eq, end) = self.pairs.iter().find(|&(eq, _)| {
            eq >= len && (eq == len || raw[eq - len - 1] == SEP) && super::message::same_bytes(&raw[eq - len..eq], key)
        })?;
        // A key holding a separator could match across two items; no real key does.
        (!key.contains(&SEP)).then(|| &raw[eq + 1..end])
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
        for (eq, end) in self.pairs.iter() {
            if self.key_before(eq) == key {
                let continues = current.is_some() && only_key;
                if !continues {
                    if let Some(c) = current.take() {
                        out.push(c);
                    }
                    current = Some(Dict { raw: self.raw, pairs: Pairs::for_body(self.raw.len()) });
                    only_key = true;
                }
            } else {
                only_key = false;
            }
            if let Some(c) = current.as_mut() {
                c.pairs.push(eq as u32, end as u32);
            }
        }
        out.extend(current);
        out
    }
}

/// No `=` seen yet in the current item.
const NO_EQ: u32 = u32::MAX;

/// Indexes the pairs of `raw` (under 4 GiB) into `pairs`, 32 bytes at a time on CPUs
/// with AVX2 (one cached check), 16 otherwise.
fn index(raw: &[u8], pairs: &mut Pairs) -> Result<(), DictError> {
    #[cfg(target_arch = "x86_64")]
    if scan::has_avx2() {
        // SAFETY: the CPU has AVX2, BMI1 and POPCNT (checked just above).
        return unsafe { index_avx2(raw, pairs) };
    }
    index_with::<16>(raw, pairs, scan::eq_mask16)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,popcnt")]
unsafe fn index_avx2(raw: &[u8], pairs: &mut Pairs) -> Result<(), DictError> {
    index_with::<32>(raw, pairs, |b, x| unsafe { scan::eq_mask32(b, x) })
}

/// One pass over the item separators and `=` signs together: per block, the separators are
/// walked, and of the `=` signs only the first of each item is looked at, so `=` inside values
/// (base64 padding, URLs) cost nothing.
#[inline(always)]
fn index_with<const W: usize>(
    raw: &[u8],
    pairs: &mut Pairs,
    eq_mask: impl Fn(&[u8], u8) -> u32,
) -> Result<(), DictError> {
    // The current item's start, first `=` and number; the first item without `=` and the
    // first past MAX_PAIRS — plain numbers here, the error is built once at the end.
    let (mut start, mut eq, mut item) = (0u32, NO_EQ, 0usize);
    let (mut no_equals, mut too_many) = (usize::MAX, usize::MAX);
    let mut out = pairs.fill();
    let mut end_item = |start: u32, eq: u32, end: u32, item: usize| {
        if start == end {
            return; // an empty item: skipped
        }
        if eq == NO_EQ {
            no_equals = no_equals.min(item);
        } else if out.len() == MAX_PAIRS {
            too_many = too_many.min(item);
        } else {
            out.push(eq, end);
        }
    };
    scan::blocks2::<W>(raw, SEP, b'=', eq_mask, |base, mut seps, mut eqs| {
        let base = base as u32; // the body is under 4 GiB (checked by the caller)
        while seps != 0 {
            let j = seps.trailing_zeros();
            if eq == NO_EQ {
                let before = eqs & ((1u32 << j) - 1);
                if before != 0 {
                    eq = base + before.trailing_zeros();
                }
            }
            end_item(start, eq, base + j, item);
            (start, eq, item) = (base + j + 1, NO_EQ, item + 1);
            eqs &= !1u32 << j; // the `=` signs after bit j
            seps &= seps - 1;
        }
        if eq == NO_EQ && eqs != 0 {
            eq = base + eqs.trailing_zeros();
        }
    });
    end_item(start, eq, raw.len() as u32, item);
    // The first error in the body wins, as a reader going item by item would report it.
    match (no_equals, too_many) {
        (usize::MAX, usize::MAX) => Ok(()),
        (bad, over) if bad < over => Err(DictError::MissingEquals(bad)),
        _ => Err(DictError::TooManyPairs),
    }
}

/// Equal when they hold the same pairs in the same order (wherever their bytes are).
impl PartialEq for Dict<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Dict<'_> {}

impl fmt::Debug for Dict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))))
            .finish()
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

    /// What a body means, worked out the slow way: split at every 0x1C, skip empty items, split
    /// each at its first `=`.
    type Read<'a> = Vec<(&'a [u8], &'a [u8])>;

    fn naive(body: &[u8]) -> Result<Read<'_>, DictError> {
        let mut out = Vec::new();
        for (i, item) in body.split(|&b| b == SEP).enumerate() {
            if item.is_empty() {
                continue;
            }
            let eq = item.iter().position(|&b| b == b'=').ok_or(DictError::MissingEquals(i))?;
            out.push((&item[..eq], &item[eq + 1..]));
        }
        Ok(out)
    }

    proptest::proptest! {
        #[test]
        fn parse_and_get_raw_agree_with_the_slow_reading(
            body in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::Just(b'a'), proptest::prelude::Just(b'b'),
                proptest::prelude::Just(b'='), proptest::prelude::Just(SEP)], 0..300)) {
            let got = Dict::parse(&body);
            // The 16-byte path too, which a CPU with AVX2 never takes otherwise.
            let mut d16 = Dict { raw: &body, pairs: Pairs::for_body(body.len()) };
            let r16 = index_with::<16>(&body, &mut d16.pairs, scan::eq_mask16);
            proptest::prop_assert_eq!(r16.map(|()| d16), got.clone());
            match naive(&body) {
                Err(e) => proptest::prop_assert_eq!(got, Err(e)),
                Ok(want) => {
                    let d = got.unwrap();
                    proptest::prop_assert_eq!(d.iter().collect::<Vec<_>>(), want.clone());
                    for key in ["", "a", "b", "ab", "ba", "aa", "aab", "a=b", "a\x1cb", "\x1c"] {
                        let first = want.iter().find(|(k, _)| *k == key.as_bytes()).map(|(_, v)| *v);
                        proptest::prop_assert_eq!(d.get_raw(key), first, "key {:?}", key);
                    }
                }
            }
        }
    }

    #[test]
    fn a_body_over_64_kib_keeps_its_offsets_exact() {
        let long = "x".repeat(70_000);
        let body = format!("A=1\x1cB={long}\x1cC=3");
        let d = Dict::parse(body.as_bytes()).unwrap();
        assert_eq!(d.get_raw("B").map(<[u8]>::len), Some(70_000));
        assert_eq!(d.get_u32("C"), Ok(3));
        assert_eq!(d.iter().map(|(k, _)| k).collect::<Vec<_>>(), vec![&b"A"[..], b"B", b"C"]);
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
