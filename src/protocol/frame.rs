//! Splitting a byte stream into frames at each `\final\` (SPEC §2.2), with a size cap (SPEC §24).
//!
//! Feed arbitrary chunks with [`Framer::push`]; take complete frames with [`Framer::next_frame`].
//! CR and LF between frames are skipped. A frame is the message text without the terminator;
//! whether it is a valid message is [`super::Message::parse`]'s concern, so garbage between
//! messages surfaces as a parse error for that one frame, not a lost stream.

use memchr::memmem;

use super::message::{Message, ParseError, Scanned, FINAL};

/// Default frame cap: 256 KiB (SPEC §24). The largest real messages (a full contact list of
/// MaxContacts=1000 records) are well under 200 KiB.
pub const DEFAULT_MAX_FRAME: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// More than the cap arrived without `\final\`; the stream cannot be resynchronised.
    #[error("frame too large: more than {cap} bytes without \\final\\")]
    TooLarge { cap: usize },
}

/// Incremental frame splitter; see the module docs.
///
/// Memory: the buffer holds at most one partial frame (≤ cap) plus the last chunk pushed; once a
/// frame passes the cap, the framer reports [`FrameError::TooLarge`] and drops its buffer.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Start of the unconsumed data in `buf`.
    start: usize,
    /// Bytes from `start` already searched for the terminator without success.
    searched: usize,
    cap: usize,
    failed: bool,
    /// Built once: constructing a searcher per call costs more than searching a short frame.
    finder: memmem::Finder<'static>,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(DEFAULT_MAX_FRAME)
    }
}

impl Framer {
    pub fn new(cap: usize) -> Framer {
        Framer {
            buf: Vec::new(),
            start: 0,
            searched: 0,
            cap,
            failed: false,
            finder: memmem::Finder::new(FINAL).into_owned(),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Bytes the buffer has room for without growing: what it keeps allocated while idle.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes held that are not yet part of a returned frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Appends received bytes. Ignored after a [`FrameError`].
    pub fn push(&mut self, data: &[u8]) {
        if self.failed {
            return;
        }
        if self.start > 0 && (self.start == self.buf.len() || self.start >= self.buf.len() / 2) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` when more data is needed.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        if self.failed {
            return Err(FrameError::TooLarge { cap: self.cap });
        }
        // CR/LF between messages is ignored (SPEC §24).
        while self.start < self.buf.len() && matches!(self.buf[self.start], b'\r' | b'\n') {
            self.start += 1;
            self.searched = self.searched.saturating_sub(1);
        }
        let data = &self.buf[self.start..];
        // Resume the search where it stopped, overlapping by the terminator length minus one.
        let from = self.searched.saturating_sub(FINAL.len() - 1);
        match self.finder.find(&data[from..]) {
            Some(i) => {
                let end = from + i;
                if end > self.cap {
                    return Err(self.fail());
                }
                let frame_start = self.start;
                self.start += end + FINAL.len();
                self.searched = 0;
                Ok(Some(&self.buf[frame_start..frame_start + end]))
            }
            None => {
                self.searched = data.len();
                if data.len() > self.cap + FINAL.len() {
                    return Err(self.fail());
                }
                Ok(None)
            }
        }
    }

    /// The next frame, parsed into `msg`: [`Framer::next_frame`] followed by
    /// [`Message::parse_into`], in one pass over the bytes when the whole frame is already
    /// buffered (the usual case: a read brings many small messages). `Ok(Some(r))`: a frame was
    /// taken and `r` is its parse result (on an error `msg.as_bytes()` is the raw frame).
    pub fn next_message(&mut self, msg: &mut Message) -> Result<Option<Result<(), ParseError>>, FrameError> {
        if self.failed {
            return Err(FrameError::TooLarge { cap: self.cap });
        }
        if self.searched > 0 {
            // Part of this frame was searched before: go on incrementally, parse when whole.
            return Ok(self.next_frame()?.map(|frame| {
                msg.parse_into(frame).map_err(|e| {
                    msg.set_raw(frame);
                    e
                })
            }));
        }
        while self.start < self.buf.len() && matches!(self.buf[self.start], b'\r' | b'\n') {
            self.start += 1;
        }
        let data = &self.buf[self.start..];
        // A frame of `cap` bytes ends by `cap` + the terminator; nothing past that can end one.
        match msg.parse_to_final(data, self.cap.saturating_add(FINAL.len())) {
            (Scanned::Frame(end), r) => {
                if end > self.cap {
                    return Err(self.fail());
                }
                self.start += end + FINAL.len();
                Ok(Some(r))
            }
            (Scanned::Incomplete, _) => {
                self.searched = data.len();
                if data.len() > self.cap + FINAL.len() {
                    return Err(self.fail());
                }
                Ok(None)
            }
        }
    }

    fn fail(&mut self) -> FrameError {
        self.failed = true;
        self.buf = Vec::new();
        self.start = 0;
        self.searched = 0;
        FrameError::TooLarge { cap: self.cap }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain(f: &mut Framer) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(fr) = f.next_frame().unwrap() {
            out.push(fr.to_vec());
        }
        out
    }

    #[test]
    fn splits_back_to_back_frames_and_skips_crlf() {
        let mut f = Framer::default();
        f.push(b"\\a\\1\\final\\\r\n\\b\\2\\final\\\\c\\3");
        assert_eq!(drain(&mut f), vec![b"\\a\\1".to_vec(), b"\\b\\2".to_vec()]);
        f.push(b"\\fin");
        assert_eq!(drain(&mut f), Vec::<Vec<u8>>::new());
        f.push(b"al\\");
        assert_eq!(drain(&mut f), vec![b"\\c\\3".to_vec()]);
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn over_cap_without_final_is_an_error_and_memory_is_released() {
        let mut f = Framer::new(64);
        f.push(&[b'x'; 100]);
        assert_eq!(f.next_frame(), Err(FrameError::TooLarge { cap: 64 }));
        assert_eq!(f.pending(), 0);
        f.push(b"\\a\\1\\final\\");
        assert!(f.next_frame().is_err(), "a failed framer stays failed");
    }

    #[test]
    fn a_complete_frame_over_cap_is_refused() {
        let mut f = Framer::new(8);
        f.push(b"\\a\\123456789\\final\\");
        assert!(f.next_frame().is_err());
    }

    proptest! {
        #[test]
        fn every_chunking_gives_the_same_frames(
            msgs in proptest::collection::vec("[a-z0-9 /=|]{0,30}", 1..8),
            cuts in proptest::collection::vec(0usize..400, 0..20),
        ) {
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                let frame = format!("\\k{i}\\{m}");
                stream.extend_from_slice(frame.as_bytes());
                stream.extend_from_slice(FINAL);
                if i % 3 == 0 { stream.extend_from_slice(b"\r\n"); }
                expected.push(frame.into_bytes());
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut f = Framer::default();
            let mut got = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([stream.len()]) {
                f.push(&stream[prev..c]);
                prev = c;
                got.extend(drain(&mut f));
            }
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn next_message_is_next_frame_then_parse_into_for_any_bytes_chunking_and_cap(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\\'), Just(b'f'), Just(b'i'), Just(b'n'), Just(b'a'), Just(b'l'), Just(b'\n'), Just(b'k'), any::<u8>()],
                0..400,
            ),
            cuts in proptest::collection::vec(0usize..400, 0..6),
            cap in prop_oneof![Just(DEFAULT_MAX_FRAME), 1usize..64],
        ) {
            // Reference: the two-step path on the same pushes.
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            type Outcome = Result<(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>), String>;
            let run = |one_pass: bool| {
                let mut f = Framer::new(cap);
                let mut msg = Message::default();
                let mut out: Vec<Outcome> = Vec::new();
                let mut prev = 0;
                for c in cuts.iter().copied().chain([data.len()]) {
                    f.push(&data[prev..c]);
                    prev = c;
                    loop {
                        let step = if one_pass {
                            f.next_message(&mut msg).map(|o| o.map(|r| r.map(|()| msg.clone()).map_err(|e| (e, msg.as_bytes().to_vec()))))
                        } else {
                            f.next_frame().map(|o| o.map(|fr| Message::parse(fr).map_err(|e| (e, fr.to_vec()))))
                        };
                        match step {
                            Ok(Some(Ok(m))) => out.push(Ok((m.as_bytes().to_vec(), m.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()))),
                            Ok(Some(Err((e, raw)))) => out.push(Err(format!("{e:?} {raw:?}"))),
                            Ok(None) => break,
                            Err(e) => { out.push(Err(format!("framing: {e}"))); break; }
                        }
                    }
                }
                (out, f.pending())
            };
            prop_assert_eq!(run(true), run(false));
        }

        #[test]
        fn byte_at_a_time_equals_all_at_once(data in proptest::collection::vec(prop_oneof![Just(b'\\'), Just(b'f'), Just(b'i'), Just(b'n'), Just(b'a'), Just(b'l'), Just(b'\n'), any::<u8>()], 0..300)) {
            let mut whole = Framer::default();
            whole.push(&data);
            let a = drain(&mut whole);
            let mut bytes = Framer::default();
            let mut b = Vec::new();
            for x in &data { bytes.push(std::slice::from_ref(x)); b.extend(drain(&mut bytes)); }
            prop_assert_eq!(a, b);
        }
    }
}
