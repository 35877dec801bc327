//! Parser benchmark on `tests/data/bench-corpus.tsv` (13 server messages), per message:
//! - baseline "memchr scan": find every backslash and the `\final\` terminator — the least work
//!   any parser of this format must do (the limit);
//! - msim: frame + parse + 4 field lookups; and the same plus parsing the body dictionary and one
//!   lookup in it.
//!
//! Ratios only against the scan measured in the same run (Pidgin's C parser is not run here, so
//! no ratio to it is printed). Targets (issue "Performance, round two"): ≤ 1.8× the scan, and
//! ≤ 3× with the dictionary. Run: `cargo bench --bench parser`.

mod common;

use common::{keep, row, side_by_side};
use msim::protocol::message::FINAL;
use msim::protocol::{Dict, Framer, Message};

fn main() {
    let corpus = common::corpus();
    let n = corpus.len() as f64;
    let stream: Vec<u8> = corpus.iter().flat_map(|(_, b)| b.clone()).collect();
    let frames: Vec<Vec<u8>> = corpus.iter().map(|(_, b)| b[..b.len() - FINAL.len()].to_vec()).collect();

    let mut scan = || {
        let mut count = 0usize;
        for f in &frames {
            count += memchr::memchr_iter(b'\\', f).count();
        }
        count += memchr::memmem::find_iter(&stream, FINAL).count();
        keep(count);
    };
    let mut msg = Message::default();
    let mut framer = Framer::default();
    // As the client's machine does: framing and parsing in one pass (`Framer::next_message`).
    let mut parse4 = || {
        framer.push(&stream);
        while let Ok(Some(r)) = framer.next_message(&mut msg) {
            r.unwrap();
            keep((msg.kind(), msg.get_raw("rid"), msg.get_raw("uid"), msg.get_raw("body")));
        }
    };
    let mut msg2 = Message::default();
    let mut framer2 = Framer::default();
    let mut parse_dict = || {
        framer2.push(&stream);
        while let Ok(Some(r)) = framer2.next_message(&mut msg2) {
            r.unwrap();
            keep((msg2.kind(), msg2.get_raw("rid"), msg2.get_raw("uid")));
            if let Some(body) = msg2.get_raw("body") {
                let d = Dict::parse(body).unwrap();
                keep(d.get_raw("UserName"));
            }
        }
    };
    let s = side_by_side(60, 2000, &mut [&mut scan, &mut parse4, &mut parse_dict]);
    let per =
        |x: &common::Sample| common::Sample { median_ns: x.median_ns / n, p10_ns: x.p10_ns / n, p90_ns: x.p90_ns / n };
    let (scan_s, p4, pd) = (per(&s[0]), per(&s[1]), per(&s[2]));
    println!("parser, per message ({} messages, {} bytes):", corpus.len(), stream.len());
    row("baseline: memchr scan (the limit)", &scan_s, None);
    row("msim: frame + parse + 4 lookups", &p4, Some(("scan", &scan_s)));
    row("msim: ... + body dictionary + 1 lookup", &pd, Some(("scan", &scan_s)));
}
