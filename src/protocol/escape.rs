//! The `/1` `/2` escaping of string values (SPEC §3).
//!
//! Applied to top-level string values and to string values inside dictionaries; never to keys,
//! integers, top-level base64 or the separators themselves.

use std::borrow::Cow;

/// Escapes `/` as `/1` and `\` as `/2`, appending to `out` (SPEC §3).
pub fn escape_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut rest = raw;
    while let Some(i) = memchr::memchr2(b'/', b'\\', rest) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(if rest[i] == b'/' { b"/1" } else { b"/2" });
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Escapes a string (SPEC §3); borrows when nothing needs escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    if memchr::memchr2(b'/', b'\\', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len() + 8);
    escape_into(s.as_bytes(), &mut out);
    // Only ASCII bytes were replaced by ASCII bytes, so UTF-8 validity is preserved.
    Cow::Owned(String::from_utf8(out).expect("escaping preserves UTF-8"))
}

/// Reverses [`escape`]: `/1` → `/`, `/2` → `\`; any other `/x` and a trailing lone `/` are kept
/// unchanged (SPEC §3). Borrows when the input contains no `/`.
pub fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    unescape_with(raw, false)
}

/// Like [`unescape`], but also decodes `/3` → `|`: the code Pidgin reserved for list items (SPEC §3)
/// and msim uses when a list item would otherwise contain a bare `|`.
pub fn unescape_list_item(raw: &[u8]) -> Cow<'_, [u8]> {
    unescape_with(raw, true)
}

fn unescape_with(raw: &[u8], bar: bool) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(b'/', raw) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let mut i = first;
    while i < raw.len() {
        let b = raw[i];
        if b == b'/' && i + 1 < raw.len() {
            let decoded = match raw[i + 1] {
                b'1' => Some(b'/'),
                b'2' => Some(b'\\'),
                b'3' if bar => Some(b'|'),
                _ => None,
            };
            if let Some(d) = decoded {
                out.push(d);
                i += 2;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

/// Escapes a list item: [`escape`] plus `|` → `/3`, so an item never splits its list.
pub fn escape_list_item_into(raw: &[u8], out: &mut Vec<u8>) {
    for &b in raw {
        match b {
            b'/' => out.extend_from_slice(b"/1"),
            b'\\' => out.extend_from_slice(b"/2"),
            b'|' => out.extend_from_slice(b"/3"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pidgin_self_test_vectors() {
        // SPEC §3: Pidgin's own vectors.
        let cases = [
            ("v52/xxx\\yyy", "v52/1xxx/2yyy"),
            ("hello/world\\hello/world", "hello/1world/2hello/1world"),
            ("http://x.myspace.com/images/no_pic.gif", "http:/1/1x.myspace.com/1images/1no_pic.gif"),
            ("", ""),
        ];
        for (raw, wire) in cases {
            assert_eq!(escape(raw), wire);
            assert_eq!(&*unescape(wire.as_bytes()), raw.as_bytes());
        }
    }

    #[test]
    fn unknown_sequences_are_kept() {
        assert_eq!(&*unescape(b"a/0b/"), b"a/0b/");
        assert_eq!(&*unescape(b"/3"), b"/3");
        assert_eq!(&*unescape_list_item(b"a/3b"), b"a|b");
    }

    proptest! {
        #[test]
        fn escape_round_trips(s in ".*") {
            let e = escape(&s);
            prop_assert!(!e.contains('\\'));
            prop_assert_eq!(&*unescape(e.as_bytes()), s.as_bytes());
        }

        #[test]
        fn list_item_escape_round_trips(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut e = Vec::new();
            escape_list_item_into(&s, &mut e);
            prop_assert!(!e.contains(&b'|') && !e.contains(&b'\\'));
            prop_assert_eq!(&*unescape_list_item(&e), &s[..]);
        }
    }
}
