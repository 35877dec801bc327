//! The ways MSIM clients turn a password into the input of the login key (SPEC §6.3 steps 1–4,
//! §25), so that a server can accept every client. They differ in two things:
//! - the **cut**: Pidgin keeps the first 10 UTF-8 *bytes* and then lower-cases; Digsby lower-cases
//!   and then keeps 10 *characters*; Miranda keeps 10 UTF-16 *units* and then lower-cases;
//! - the **lower-casing** itself, for two characters: capital sigma (final or not) and capital I
//!   with dot above (one character or two).
//!
//! For an ASCII password every combination gives the same bytes. A server stores
//! [`password_hash_variants`] (every distinct h1, SPEC §6.3 step 5) and accepts a login that
//! verifies under any of them; it never needs the password itself. This module owns only the
//! normalisations: no socket, no storage. Like `login.rs` it wipes the buffers it allocates for
//! the password and the stack it ran on; the hashes it returns are the caller's to wipe.

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::login::{on_wiped_stack, PASSWORD_SIGNIFICANT_BYTES};

/// How many bytes, characters or UTF-16 units a client keeps (SPEC §6.3 step 2, §25).
const KEPT: usize = PASSWORD_SIGNIFICANT_BYTES;

/// Where a client cuts the password (SPEC §25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordCut {
    /// Pidgin (and msim, SPEC §24): the first 10 bytes of UTF-8, an incomplete trailing sequence
    /// dropped, then lower-cased.
    Utf8Bytes,
    /// Digsby: the whole password lower-cased, then its first 10 characters (code points).
    Chars,
    /// Miranda: the first 10 UTF-16 code units, then lower-cased. A cut through a surrogate pair
    /// leaves its high half last; a client that works in UTF-16 hashes that unit as it is, so it
    /// is kept (and passes lower-casing unchanged).
    Utf16Units,
}

impl PasswordCut {
    pub const ALL: [PasswordCut; 3] = [PasswordCut::Utf8Bytes, PasswordCut::Chars, PasswordCut::Utf16Units];
}

/// How a client lower-cases. The three agree except for capital sigma (U+03A3) and capital I
/// with dot above (U+0130).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LowerCasing {
    /// Unicode's full lower-casing with its Final_Sigma context (Rust's `str::to_lowercase`, msim's
    /// own normalisation, SPEC §24): Σ becomes ς after a cased letter when no cased letter follows,
    /// σ otherwise; İ becomes two characters, i and U+0307.
    Unicode,
    /// GLib's `g_utf8_strdown` (Pidgin, SPEC §6.3 step 3): Σ becomes σ when a letter follows it and
    /// ς otherwise (so a lone `Σ` or `Σ1` gives ς, where Unicode gives σ); İ as in Unicode. "A
    /// letter" is Rust's `char::is_alphabetic`, which agrees with GLib's test on letters.
    Glib,
    /// One character at a time with the simple one-to-one mappings, as lower-casing without context
    /// or expansion does: Σ is always σ, İ is i.
    Simple,
}

impl LowerCasing {
    pub const ALL: [LowerCasing; 3] = [LowerCasing::Unicode, LowerCasing::Glib, LowerCasing::Simple];
}

/// Most distinct hashes [`password_hash_variants`] returns: one per cut and lower-casing.
pub const MAX_VARIANTS: usize = PasswordCut::ALL.len() * LowerCasing::ALL.len();

/// Lower-cases `s` as `casing` says. Lower-casing grows a string by at most half (İ: 2 → 3
/// bytes), so the reserved capacity is never exceeded and no unwiped copy is left behind.
fn lower(s: &str, casing: LowerCasing) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(s.len() * 2));
    match casing {
        LowerCasing::Unicode => out.push_str(&Zeroizing::new(s.to_lowercase())),
        LowerCasing::Glib => {
            let mut chars = s.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\u{3a3}' {
                    let letter_follows = chars.peek().is_some_and(|n| n.is_alphabetic());
                    out.push(if letter_follows { '\u{3c3}' } else { '\u{3c2}' });
                } else {
                    // `char::to_lowercase` has no context: Σ is handled above, İ expands.
                    out.extend(c.to_lowercase());
                }
            }
        }
        // The simple mapping is the first character of the full one: only İ expands (to "i" +
        // U+0307) in Unicode's unconditional mappings.
        LowerCasing::Simple => out.extend(s.chars().map(|c| c.to_lowercase().next().unwrap_or(c))),
    }
    out
}

/// The longest prefix of at most `max` bytes that is whole UTF-8 characters.
fn utf8_prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn utf16_units(s: &str) -> Zeroizing<Vec<u16>> {
    let mut out = Zeroizing::new(Vec::with_capacity(s.len()));
    out.extend(s.encode_utf16());
    out
}

/// The UTF-16LE bytes a client with this cut and lower-casing hashes (SPEC §6.3 steps 2–4).
fn normalized(password: &str, cut: PasswordCut, casing: LowerCasing) -> Zeroizing<Vec<u8>> {
    let units = match cut {
        PasswordCut::Utf8Bytes => utf16_units(&lower(utf8_prefix(password, KEPT), casing)),
        PasswordCut::Chars => {
            let lowered = lower(password, casing);
            let end = lowered.char_indices().nth(KEPT).map_or(lowered.len(), |(i, _)| i);
            utf16_units(&lowered[..end])
        }
        PasswordCut::Utf16Units => {
            let mut kept = Zeroizing::new(Vec::with_capacity(KEPT));
            kept.extend(password.encode_utf16().take(KEPT));
            // Only the last unit can be half a pair: the password itself is valid UTF-16.
            let lone = kept.last().copied().filter(|u| (0xD800..0xDC00).contains(u));
            if lone.is_some() {
                kept.pop();
            }
            let text = Zeroizing::new(String::from_utf16(&kept).expect("whole pairs only"));
            let mut units = utf16_units(&lower(&text, casing));
            units.extend(lone);
            units
        }
    };
    let mut out = Zeroizing::new(Vec::with_capacity(units.len() * 2));
    for unit in units.iter() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// h1 (SPEC §6.3 step 5) as a client with this cut and lower-casing computes it.
/// `password_hash_with(pw, Utf8Bytes, Unicode)` is `login::password_hash(pw)`.
pub fn password_hash_with(password: &str, cut: PasswordCut, casing: LowerCasing) -> [u8; 20] {
    on_wiped_stack(|| Sha1::digest(normalized(password, cut, casing).as_slice()).into())
}

/// Every distinct h1 of `password` over all cuts and lower-casings (at most [`MAX_VARIANTS`]; one
/// for an ASCII password). The first is `login::password_hash(password)`, Pidgin's and msim's.
/// Each is password-equivalent for MSIM logins: store and wipe them like a password.
pub fn password_hash_variants(password: &str) -> Vec<[u8; 20]> {
    on_wiped_stack(|| {
        let mut out: Vec<[u8; 20]> = Vec::with_capacity(MAX_VARIANTS);
        for cut in PasswordCut::ALL {
            for casing in LowerCasing::ALL {
                let h: [u8; 20] = Sha1::digest(normalized(password, cut, casing).as_slice()).into();
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::login::{normalize_password, password_hash};
    use LowerCasing::{Glib, Simple, Unicode};
    use PasswordCut::{Chars, Utf16Units, Utf8Bytes};

    fn le(units: impl IntoIterator<Item = u16>) -> Vec<u8> {
        units.into_iter().flat_map(u16::to_le_bytes).collect()
    }

    fn utf16le(s: &str) -> Vec<u8> {
        le(s.encode_utf16())
    }

    #[test]
    fn cuts_and_lower_casings_table() {
        let dotted = "\u{130}".repeat(12); // İ × 12: 24 bytes, 12 characters, 12 units
        let i_dot = "i\u{307}";
        // (password, cut, lower-casing, expected normalised text)
        let cases: &[(&str, PasswordCut, LowerCasing, String)] = &[
            // The three cuts differ once a character is more than one byte or one unit.
            ("Å😀BCDEFGHIJK", Utf8Bytes, Unicode, "å😀bcde".into()),
            ("Å😀BCDEFGHIJK", Chars, Unicode, "å😀bcdefghi".into()),
            ("Å😀BCDEFGHIJK", Utf16Units, Unicode, "å😀bcdefgh".into()),
            ("abcdefghijKLM", Utf8Bytes, Simple, "abcdefghij".into()),
            ("abcdefghijKLM", Chars, Glib, "abcdefghij".into()),
            // Sigma: Unicode's context rule, GLib's "a letter follows", or always σ.
            ("Σ1", Utf8Bytes, Unicode, "σ1".into()),
            ("Σ1", Utf8Bytes, Glib, "ς1".into()),
            ("Σ1", Utf8Bytes, Simple, "σ1".into()),
            ("ΟΔΟΣ", Utf8Bytes, Unicode, "οδος".replace('σ', "ς")),
            ("ΟΔΟΣ", Utf8Bytes, Glib, "οδος".replace('σ', "ς")),
            ("ΟΔΟΣ", Utf8Bytes, Simple, "οδοσ".into()),
            ("ΣΑ", Chars, Glib, "σα".into()),
            // Dotted capital I: two characters, or one.
            ("\u{130}X", Utf8Bytes, Unicode, format!("{i_dot}x")),
            ("\u{130}X", Utf8Bytes, Glib, format!("{i_dot}x")),
            ("\u{130}X", Utf8Bytes, Simple, "ix".into()),
            // Lower-casing before the cut (Digsby) counts İ's expansion; after it (Miranda) does not.
            (&dotted, Utf8Bytes, Unicode, i_dot.repeat(5)),
            (&dotted, Chars, Unicode, i_dot.repeat(5)),
            (&dotted, Utf16Units, Unicode, i_dot.repeat(10)),
            (&dotted, Chars, Simple, "i".repeat(10)),
        ];
        for (pw, cut, casing, expect) in cases {
            assert_eq!(*normalized(pw, *cut, *casing), utf16le(expect), "{pw:?} {cut:?} {casing:?}");
        }
    }

    #[test]
    fn a_cut_through_a_surrogate_pair_keeps_the_high_half_for_utf16_clients() {
        // Nine units, then 😀 (D83D DE00): the tenth unit is the pair's high half.
        let got = normalized("123456789😀", Utf16Units, Unicode);
        assert_eq!(*got, le("123456789".encode_utf16().chain([0xD83D])));
        // The byte cut drops the whole character instead (SPEC §24).
        assert_eq!(*normalized("1234567😀", Utf8Bytes, Unicode), utf16le("1234567"));
    }

    #[test]
    fn pidgin_cut_with_unicode_casing_is_the_existing_normalisation() {
        for pw in ["", "password", "PassWord", "123456789é", "12345678€", "ΟΔΟΣ", "abcdeΑΣΑ", "\u{130}\u{130}", "ẞA"]
        {
            assert_eq!(*normalized(pw, Utf8Bytes, Unicode), *normalize_password(pw), "{pw:?}");
            assert_eq!(password_hash_with(pw, Utf8Bytes, Unicode), password_hash(pw), "{pw:?}");
        }
    }

    #[test]
    fn variants_are_distinct_and_start_with_pidgins_hash() {
        // (password, number of distinct hashes)
        let cases = [("password", 1), ("PÄSSWÖRD", 1), ("Å😀BCDEFGHIJK", 3), ("Σ1", 2), ("\u{130}X", 2)];
        for (pw, n) in cases {
            let v = password_hash_variants(pw);
            assert_eq!(v.len(), n, "{pw:?}");
            assert_eq!(v[0], password_hash(pw), "{pw:?}");
            for cut in PasswordCut::ALL {
                for casing in LowerCasing::ALL {
                    assert!(v.contains(&password_hash_with(pw, cut, casing)), "{pw:?} {cut:?} {casing:?}");
                }
            }
        }
        assert!(password_hash_variants(&"\u{130}Σ😀é".repeat(4)).len() <= MAX_VARIANTS);
    }
}
