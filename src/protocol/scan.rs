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
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, BMI1 and POPCNT (checked just above).
        return unsafe { backslashes_avx2(text, out) };
    }
    backslashes_with::<16>(text, out, eq_mask16)
}

/// As [`backslashes`], stopping at the first `\final\`: returns its position (the backslashes
/// before it are in `out`), or `None` when `text` has none (`out` then holds them all). The
/// bytes scanned are appended to `copy` on the way, each block stored right after it is loaded
/// (the message keeps its own copy of the frame, and this saves a second pass over it): on
/// `Some(end)`, `copy` has at least `text[..end]` appended (the caller truncates it); on `None`,
/// all of `text`.
#[inline(always)]
pub(crate) fn scan_to_final(text: &[u8], out: &mut Vec<u32>, copy: &mut Vec<u8>) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2, BMI1 and POPCNT (checked just above).
        return unsafe { scan_to_final_avx2(text, out, copy) };
    }
    scan_to_final_with::<16>(text, out, copy, eq_mask16)
}

/// True on CPUs with AVX2 and the bit instructions that came with it (BMI1, POPCNT: every
/// x86-64 CPU since 2013 that has AVX2 has them): 32-byte blocks halve the loop's trips. The
/// answer is cached by std (a load and a test per call).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("popcnt")
}

// The generic bodies are inlined into these, so they are compiled for those instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,popcnt")]
unsafe fn backslashes_avx2(text: &[u8], out: &mut Vec<u32>) {
    backslashes_with::<32>(text, out, |b, x| unsafe { eq_mask32(b, x) })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,popcnt")]
unsafe fn scan_to_final_avx2(text: &[u8], out: &mut Vec<u32>, copy: &mut Vec<u8>) -> Option<usize> {
    scan_to_final_with::<32>(text, out, copy, |b, x| unsafe { eq_mask32(b, x) })
}

/// [`backslashes`] with blocks of `W` bytes (`eq` makes a block's mask); the tail is done 16 or
/// 1 byte at a time.
#[inline(always)]
fn backslashes_with<const W: usize>(text: &[u8], out: &mut Vec<u32>, eq: impl Fn(&[u8], u8) -> u32) {
    let mut base = 0;
    while base + W <= text.len() {
        push_bits(eq(&text[base..], b'\\'), base, out);
        base += W;
    }
    if W > 16 && base + 16 <= text.len() {
        push_bits(eq_mask16(&text[base..], b'\\'), base, out);
        base += 16;
    }
    for (p, &b) in text.iter().enumerate().skip(base) {
        if b == b'\\' {
            out.push(p as u32);
        }
    }
}

/// [`scan_to_final`] with blocks of `W` bytes. A second mask marks the bytes followed by `f`;
/// only a backslash there (rare: the `\f\` key of buddy messages) is checked further.
#[inline(always)]
fn scan_to_final_with<const W: usize>(
    text: &[u8],
    out: &mut Vec<u32>,
    copy: &mut Vec<u8>,
    eq: impl Fn(&[u8], u8) -> u32,
) -> Option<usize> {
    let is_final = |p: usize| text.get(p + 1..p + 1 + FINAL_TAIL.len()) == Some(FINAL_TAIL);
    let mut base = 0;
    // Blocks whose following byte exists too, so the `f` mask can be read one byte on.
    while base + W < text.len() {
        let block = &text[base..base + W];
        copy.extend_from_slice(block); // a fixed-size copy: one vector store, no call
        let mask = eq(block, b'\\');
        if mask != 0 {
            if let Some(end) = block_to_final(mask, mask & eq(&text[base + 1..], b'f'), base, out, is_final) {
                return Some(end);
            }
        }
        base += W;
    }
    if W > 16 && base + 16 < text.len() {
        copy.extend_from_slice(&text[base..base + 16]);
        let mask = eq_mask16(&text[base..], b'\\');
        if mask != 0 {
            let f = mask & eq_mask16(&text[base + 1..], b'f');
            if let Some(end) = block_to_final(mask, f, base, out, is_final) {
                return Some(end);
            }
        }
        base += 16;
    }
    copy.extend_from_slice(&text[base..]);
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

/// One block's backslashes (`mask`), of which those in `candidates` are followed by `f`: pushes
/// them in order up to the first that starts `\final\`, whose position it returns.
#[inline(always)]
fn block_to_final(
    mut mask: u32,
    mut candidates: u32,
    base: usize,
    out: &mut Vec<u32>,
    is_final: impl Fn(usize) -> bool,
) -> Option<usize> {
    while candidates != 0 {
        let j = candidates.trailing_zeros();
        let below = (1u32 << j) - 1;
        push_bits(mask & below, base, out);
        mask &= !below;
        if is_final(base + j as usize) {
            return Some(base + j as usize);
        }
        candidates &= candidates - 1;
    }
    push_bits(mask, base, out);
    None
}

/// Calls `f(base, a_mask, b_mask)` for each block of `text` in order, `W` bytes at a time (then
/// 16, then the rest): bits `i` are set where `text[base + i]` is `a` / `b`. `eq` makes a `W`-byte
/// block's mask ([`eq_mask16`], or [`eq_mask32`] inside an AVX2 function). Inlined into its
/// caller, so a caller compiled for AVX2 keeps its state in registers across the blocks.
#[inline(always)]
pub(crate) fn blocks2<const W: usize>(
    text: &[u8],
    a: u8,
    b: u8,
    eq: impl Fn(&[u8], u8) -> u32,
    mut f: impl FnMut(usize, u32, u32),
) {
    let mut base = 0;
    while base < text.len() {
        // One call site for `f`, so that it is inlined here.
        let (ma, mb, width) = if base + W <= text.len() {
            (eq(&text[base..], a), eq(&text[base..], b), W)
        } else if W > 16 && base + 16 <= text.len() {
            (eq_mask16(&text[base..], a), eq_mask16(&text[base..], b), 16)
        } else {
            let (mut ma, mut mb) = (0u32, 0u32);
            for (i, &x) in text[base..].iter().enumerate() {
                ma |= u32::from(x == a) << i;
                mb |= u32::from(x == b) << i;
            }
            (ma, mb, text.len() - base)
        };
        f(base, ma, mb);
        base += width;
    }
}

/// Appends `base + i` for every set bit `i` of `mask`, in order.
///
/// Branch-free for up to 4 bits, which nearly every block has (a message has a backslash every
/// ~12 bytes): the first four positions are written whether or not there are that many, and the
/// length then grows by the count. A loop that stops after the last bit would mispredict its exit
/// once per block, which cost more than the rest of the scan.
#[inline(always)]
fn push_bits(mut mask: u32, base: usize, out: &mut Vec<u32>) {
    let n = mask.count_ones() as usize;
    // Every slot that may be written (up to 32, one per bit) must be within the capacity.
    out.reserve(32);
    let len = out.len();
    let dst = out.spare_capacity_mut().as_mut_ptr();
    let base = base as u32;
    let mut i = 0;
    loop {
        for _ in 0..4 {
            // SAFETY: i < 32 here (at most 32 bits are set and we stop once all are written),
            // and 32 slots after `len` are reserved. With no bits left, trailing_zeros is 32:
            // a harmless value in a slot past the new length.
            unsafe { (*dst.add(i)).write(base + mask.trailing_zeros()) };
            mask &= mask.wrapping_sub(1);
            i += 1;
        }
        if i >= n {
            break;
        }
    }
    // SAFETY: the `n` slots after `len` were written just above.
    unsafe { out.set_len(len + n) };
}

/// Bit `i` set when `block[i] == byte`, for the first 32 bytes of `block` (at least 32 long).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn eq_mask32(block: &[u8], byte: u8) -> u32 {
    use std::arch::x86_64::{__m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8};
    assert!(block.len() >= 32);
    // SAFETY: the caller runs on a CPU with AVX2; the unaligned load reads the first 32 bytes of
    // `block`, which has at least 32 (checked above).
    unsafe {
        let v = _mm256_loadu_si256(block.as_ptr().cast::<__m256i>());
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(byte as i8))) as u32
    }
}

/// Bit `i` set when `block[i] == byte`, for the first 16 bytes of `block` (at least 16 long).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn eq_mask16(block: &[u8], byte: u8) -> u32 {
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
pub(crate) fn eq_mask16(block: &[u8], byte: u8) -> u32 {
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
            let want: Vec<u32> = text.iter().enumerate().filter(|(_, b)| **b == b'\\').map(|(i, _)| i as u32).collect();
            // Each width, whatever this CPU would pick (a CPU with AVX2 never runs the 16-byte
            // path otherwise).
            let mut got = Vec::new();
            backslashes_with::<16>(&text, &mut got, eq_mask16);
            prop_assert_eq!(&got, &want);
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                got.clear();
                // SAFETY: the CPU has AVX2, BMI1 and POPCNT.
                unsafe { backslashes_avx2(&text, &mut got) };
                prop_assert_eq!(&got, &want);
            }
            got.clear();
            backslashes(&text, &mut got);
            prop_assert_eq!(got, want);
        }

        #[test]
        fn scan_to_final_stops_where_a_substring_search_finds_final(text in bytes()) {
            let want_end = memchr::memmem::find(&text, b"\\final\\");
            let upto = want_end.unwrap_or(text.len());
            let want: Vec<u32> = text[..upto].iter().enumerate().filter(|(_, b)| **b == b'\\').map(|(i, _)| i as u32).collect();
            let check = |end: Option<usize>, got: &[u32], copy: &[u8]| -> Result<(), TestCaseError> {
                prop_assert_eq!(end, want_end);
                prop_assert_eq!(got, &want[..]);
                prop_assert!(copy.len() >= upto);
                prop_assert_eq!(&copy[..upto], &text[..upto]);
                Ok(())
            };
            let (mut got, mut copy) = (Vec::new(), Vec::new());
            check(scan_to_final_with::<16>(&text, &mut got, &mut copy, eq_mask16), &got, &copy)?;
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                let (mut got, mut copy) = (Vec::new(), Vec::new());
                // SAFETY: the CPU has AVX2, BMI1 and POPCNT.
                check(unsafe { scan_to_final_avx2(&text, &mut got, &mut copy) }, &got, &copy)?;
            }
            let (mut got, mut copy) = (vec![7], b"kept".to_vec());
            let end = scan_to_final(&text, &mut got, &mut copy);
            prop_assert_eq!(got[0], 7); // appended to what was there
            prop_assert_eq!(&copy[..4], b"kept");
            check(end, &got[1..], &copy[4..])?;
        }
    }

    /// Every (position, byte) the masks of blocks `W` wide name.
    fn hits<const W: usize>(text: &[u8], eq: impl Fn(&[u8], u8) -> u32) -> Vec<(usize, u8)> {
        let mut out = Vec::new();
        blocks2::<W>(text, 0x1c, b'=', eq, |base, a, b| {
            assert_eq!(a & b, 0);
            let mut m = a | b;
            while m != 0 {
                let i = m.trailing_zeros();
                out.push((base + i as usize, if a >> i & 1 == 1 { 0x1c } else { b'=' }));
                m &= m - 1;
            }
        });
        out
    }

    proptest! {
        #[test]
        fn block_masks_name_every_byte_of_both_kinds_in_order(text in proptest::collection::vec(
            prop_oneof![Just(b'='), Just(0x1cu8), Just(b'x')], 0..200)) {
            let want: Vec<(usize, u8)> =
                text.iter().enumerate().filter(|(_, b)| **b == 0x1c || **b == b'=').map(|(p, b)| (p, *b)).collect();
            prop_assert_eq!(&hits::<16>(&text, eq_mask16), &want);
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                // SAFETY: the CPU has AVX2.
                prop_assert_eq!(&hits::<32>(&text, |t, x| unsafe { eq_mask32(t, x) }), &want);
            }
        }
    }

    #[test]
    fn final_at_every_offset_around_the_block_edges() {
        for at in 0..40 {
            let mut text = vec![b'x'; at];
            text.extend_from_slice(b"\\final\\\\f\\");
            let (mut out, mut copy) = (Vec::new(), Vec::new());
            assert_eq!(scan_to_final(&text, &mut out, &mut copy), Some(at), "at {at}");
            assert_eq!(&copy[..at], &text[..at]);
            assert!(out.is_empty());
        }
    }
}
