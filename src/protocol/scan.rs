//! Finding backslashes fast: every MSIM token boundary is one (SPEC §2.1), and a message is
//! mostly short tokens, so parsing costs what this scan costs. Each 16-byte block becomes a bit
//! mask at once (SSE2 on x86-64, a word-at-a-time mask elsewhere) and its set bits are walked;
//! one memchr call per backslash would cost more than the scan.
//!
//! [`scan_to_final`] also spots the `\final\` terminator in the same pass, so framing and parsing
//! read the bytes once: a second mask marks the `f` bytes, and only a backslash followed by `f`
//! (rare: the `\f\` key of buddy messages) is checked further.

/// The bytes after a `\` that make it the terminator.
const FINAL_TAIL: &[u8] = b"final\\";

/// Pushes the position of every `\` in `text` onto `out` (as u32: frames are far below 4 GiB).
pub(crate) fn backslashes(text: &[u8], out: &mut Vec<u32>) {
    let mut base = 0;
    while base + 16 <= text.len() {
        let mut mask = eq_mask16(&text[base..], b'\\');
        while mask != 0 {
            out.push((base + mask.trailing_zeros() as usize) as u32);
            mask &= mask - 1;
        }
        base += 16;
    }
    for (j, &b) in text[base..].iter().enumerate() {
        if b == b'\\' {
            out.push((base + j) as u32);
        }
    }
}

/// As [`backslashes`], stopping at the first `\final\`: returns its position (the backslashes
/// before it are in `out`), or `None` when `text` has none (`out` then holds them all).
pub(crate) fn scan_to_final(text: &[u8], out: &mut Vec<u32>) -> Option<usize> {
    let is_final = |p: usize| text.get(p + 1..p + 1 + FINAL_TAIL.len()) == Some(FINAL_TAIL);
    let mut base = 0;
    // Blocks whose following byte exists too: `f_next` bit j = text[base + j + 1] is `f`.
    while base + 17 <= text.len() {
        let mut mask = eq_mask16(&text[base..], b'\\');
        if mask != 0 {
            let candidates = mask & eq_mask16(&text[base + 1..], b'f');
            if candidates != 0 {
                // Rare: push up to each candidate, then check it.
                let mut c = candidates;
                while c != 0 {
                    let j = c.trailing_zeros();
                    let before = mask & ((1u32 << j) - 1);
                    push_bits(before, base, out);
                    mask &= !((1u32 << j) - 1);
                    if is_final(base + j as usize) {
                        return Some(base + j as usize);
                    }
                    c &= c - 1;
                }
            }
            push_bits(mask, base, out);
        }
        base += 16;
    }
    for (p, &b) in text.iter().enumerate().skip(base) {
        if b == b'\\' {
            if is_final(p) {
                return Some(p);
            }
            out.push(p as u32);
        }
    }
    None
}

/// Calls `f(position, byte)` for every byte of `text` that is `a` or `b`, in order (one pass of
/// masks: the dictionary parser's item and `=` boundaries).
#[inline(always)]
pub(crate) fn for_each_of2(text: &[u8], a: u8, b: u8, mut f: impl FnMut(usize, u8)) {
    let mut base = 0;
    while base + 16 <= text.len() {
        let mut mask = eq_mask16(&text[base..], a) | eq_mask16(&text[base..], b);
        while mask != 0 {
            let p = base + mask.trailing_zeros() as usize;
            f(p, text[p]);
            mask &= mask - 1;
        }
        base += 16;
    }
    for (p, &x) in text.iter().enumerate().skip(base) {
        if x == a || x == b {
            f(p, x);
        }
    }
}

#[inline(always)]
fn push_bits(mut mask: u32, base: usize, out: &mut Vec<u32>) {
    while mask != 0 {
        out.push((base + mask.trailing_zeros() as usize) as u32);
        mask &= mask - 1;
    }
}

/// Bit `i` set when `block[i] == byte`, for the first 16 bytes of `block` (at least 16 long).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn eq_mask16(block: &[u8], byte: u8) -> u32 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    assert!(block.len() >= 16);
    // SAFETY: SSE2 is part of the x86-64 baseline, so these instructions always exist; the
    // unaligned load reads the first 16 bytes of `block`, which has at least 16 (checked above).
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8))) as u32
    }
}

/// Bit `i` set when `block[i] == byte`, for the first 16 bytes of `block`. Word at a time: a
/// zero byte of `x ^ byte…` is a match, found exactly (no carries cross bytes in this form).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn eq_mask16(block: &[u8], byte: u8) -> u32 {
    const LO: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pat = u64::from_ne_bytes([byte; 8]);
    let mut out = 0u32;
    for (half, word) in block[..16].chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ pat;
        let mut m = !(((x & LO) + LO) | x | LO);
        while m != 0 {
            out |= 1 << (half * 8 + (m.trailing_zeros() / 8) as usize);
            m &= m - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'\\'), Just(b'f'), Just(b'i'), Just(b'n'), Just(b'a'), Just(b'l'), any::<u8>()],
            0..300,
        )
    }

    proptest! {
        #[test]
        fn backslashes_are_those_a_plain_search_finds(text in bytes()) {
            let mut got = Vec::new();
            backslashes(&text, &mut got);
            let want: Vec<u32> = text.iter().enumerate().filter(|(_, b)| **b == b'\\').map(|(i, _)| i as u32).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn scan_to_final_stops_where_a_substring_search_finds_final(text in bytes()) {
            let mut got = Vec::new();
            let end = scan_to_final(&text, &mut got);
            let want_end = memchr::memmem::find(&text, b"\\final\\");
            prop_assert_eq!(end, want_end);
            let upto = want_end.unwrap_or(text.len());
            let want: Vec<u32> = text[..upto].iter().enumerate().filter(|(_, b)| **b == b'\\').map(|(i, _)| i as u32).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn for_each_of2_visits_both_bytes_in_order() {
        let text: Vec<u8> = (0..100u8).map(|i| [b'=', 0x1c, b'x', b'='][usize::from(i % 4)]).collect();
        let mut got = Vec::new();
        for_each_of2(&text, 0x1c, b'=', |p, b| got.push((p, b)));
        let want: Vec<(usize, u8)> =
            text.iter().enumerate().filter(|(_, b)| **b == 0x1c || **b == b'=').map(|(p, b)| (p, *b)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn final_at_every_offset_around_the_block_edges() {
        for at in 0..40 {
            let mut text = vec![b'x'; at];
            text.extend_from_slice(b"\\final\\\\f\\");
            let mut out = Vec::new();
            assert_eq!(scan_to_final(&text, &mut out), Some(at), "at {at}");
            assert!(out.is_empty());
        }
    }
}
