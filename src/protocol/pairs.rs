//! Where the pairs of a 0x1C dictionary are in its body: the index a [`super::Dict`] keeps.
//!
//! Each pair is stored as two offsets, its `=` and its end (the next 0x1C or the end of the body);
//! the key is the run of bytes before the `=` back to the previous 0x1C, since a key can hold
//! neither byte (SPEC §4.5). A body under 64 KiB with up to 16 pairs — every message body but a
//! long contact or group list — is indexed inline in 16-bit offsets: no allocation, and a `Dict`
//! small enough to be moved in registers rather than by a `memcpy` call. Larger ones spill to a
//! vector of 32-bit offsets.

/// Pairs kept inline.
const INLINE: usize = 16;

#[derive(Clone)]
pub(crate) struct Pairs {
    len: u32,
    /// The pairs are in `heap` (a body over 64 KiB, or more than `INLINE` pairs).
    spilled: bool,
    /// `=` offset in the low half, end in the high half: one 32-bit store and load per pair (two
    /// 16-bit stores read back by one load would stall store forwarding).
    inline: [u32; INLINE],
    heap: Vec<[u32; 2]>,
}

impl Default for Pairs {
    fn default() -> Self {
        Pairs { len: 0, spilled: false, inline: [0; INLINE], heap: Vec::new() }
    }
}

impl Pairs {
    /// An empty index for a body of `body_len` bytes (at most `u32::MAX`, checked by the parser).
    #[inline(always)]
    pub(crate) fn for_body(body_len: usize) -> Pairs {
        Pairs { spilled: body_len > usize::from(u16::MAX), ..Pairs::default() }
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Appends the pair whose `=` is at `eq` and which ends at `end` (offsets into the body; a
    /// body indexed inline is under 64 KiB, so they fit in 16 bits).
    #[inline(always)]
    pub(crate) fn push(&mut self, eq: u32, end: u32) {
        self.fill().push(eq, end);
    }

    /// A writer for a parser filling this index: it keeps the count in a register (a push
    /// through `&mut self` would store and reload it for every pair).
    #[inline(always)]
    pub(crate) fn fill(&mut self) -> Fill<'_> {
        let len = self.len;
        Fill { pairs: self, len }
    }

    /// Appends to `heap`, moving the inline pairs there first if they are not yet (`len` is
    /// the count before this pair).
    #[cold]
    fn push_to_heap(&mut self, len: u32, eq: u32, end: u32) {
        if !self.spilled {
            self.heap.reserve(4 * INLINE);
            self.heap.extend(self.inline[..len as usize].iter().map(|&p| [p & 0xffff, p >> 16]));
            self.spilled = true;
        }
        self.heap.push([eq, end]);
    }

    /// Pair `i`'s (`=`, end) offsets.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> (usize, usize) {
        if self.spilled {
            (self.heap[i][0] as usize, self.heap[i][1] as usize)
        } else {
            let p = self.inline[i];
            ((p & 0xffff) as usize, (p >> 16) as usize)
        }
    }

    /// Every pair's (`=`, end) offsets, in order.
    #[inline(always)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// See [`Pairs::fill`]; the count is written back when it is dropped.
pub(crate) struct Fill<'p> {
    pairs: &'p mut Pairs,
    len: u32,
}

impl Fill<'_> {
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// As [`Pairs::push`].
    #[inline(always)]
    pub(crate) fn push(&mut self, eq: u32, end: u32) {
        match self.pairs.inline.get_mut(self.len as usize) {
            Some(slot) if !self.pairs.spilled => *slot = eq | end << 16,
            _ => self.pairs.push_to_heap(self.len, eq, end),
        }
        self.len += 1;
    }
}

impl Drop for Fill<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.pairs.len = self.len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_sixteen_pairs_and_keeps_their_order() {
        let mut p = Pairs::for_body(1000);
        for i in 0..40u32 {
            p.push(i * 10 + 1, i * 10 + 5);
            assert_eq!(p.len(), i as usize + 1);
        }
        assert!(p.spilled);
        let got: Vec<(usize, usize)> = p.iter().collect();
        let want: Vec<(usize, usize)> = (0..40).map(|i| (i * 10 + 1, i * 10 + 5)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_fill_spills_as_push_does() {
        let mut p = Pairs::for_body(1000);
        {
            let mut f = p.fill();
            for i in 0..40u32 {
                f.push(i * 10 + 1, i * 10 + 5);
                assert_eq!(f.len(), i as usize + 1);
            }
        }
        assert_eq!(p.len(), 40);
        let want: Vec<(usize, usize)> = (0..40).map(|i| (i * 10 + 1, i * 10 + 5)).collect();
        assert_eq!(p.iter().collect::<Vec<_>>(), want);
    }

    #[test]
    fn a_body_over_64_kib_is_indexed_in_32_bits() {
        let mut p = Pairs::for_body(70_000);
        p.push(69_000, 69_999);
        assert_eq!(p.get(0), (69_000, 69_999));
    }
}
