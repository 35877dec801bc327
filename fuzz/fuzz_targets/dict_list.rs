//! 0x1C dictionaries, `|` lists, bm 100 status lists and blocklist `idlist`s on arbitrary bytes.
//!
//! Invariants:
//! - `Dict::parse`: every pair is a verbatim `key=value` item of the input (key without `=`),
//!   empty items skipped, at most `MAX_PAIRS`; `records(k)` starts every record with `k` and loses
//!   no pair from the first `k` on; typed getters never panic;
//! - `DictBuilder::extend_raw` succeeds exactly when every key is non-empty UTF-8 without a
//!   backslash and no value holds a backslash, and then rebuilds the input minus its empty items,
//!   which parses back to the same pairs;
//! - `List::parse` splits at every `|` and joins back to the input;
//! - `StatusList::parse`: when it succeeds, encode then parse gives the same status;
//! - a blocklist with this `idlist` decodes without panicking; its ops encode and decode back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msim::protocol::dict::{DictError, MAX_PAIRS, SEP};
use msim::protocol::kinds::{BlockOp, ClientMessage};
use msim::protocol::list::List;
use msim::protocol::status::StatusList;
use msim::protocol::{Dict, DictBuilder, Message};

fn check_dict(data: &[u8]) {
    let items: Vec<&[u8]> = data.split(|&b| b == SEP).filter(|i| !i.is_empty()).collect();
    let d = match Dict::parse(data) {
        Ok(d) => d,
        Err(DictError::MissingEquals(_)) => {
            assert!(items.iter().any(|i| !i.contains(&b'=')));
            return;
        }
        Err(DictError::TooManyPairs) => {
            assert!(items.len() > MAX_PAIRS);
            return;
        }
        Err(e) => panic!("Dict::parse returned a builder error: {e:?}"),
    };
    assert!(d.len() <= MAX_PAIRS);
    assert_eq!(d.len(), items.len());
    for ((k, v), item) in d.iter().zip(&items) {
        assert!(!k.contains(&b'=') && !k.contains(&SEP) && !v.contains(&SEP));
        assert_eq!(k.len() + 1 + v.len(), item.len());
        assert_eq!(&item[..k.len()], k);
        assert_eq!(item[k.len()], b'=');
        assert_eq!(&item[k.len() + 1..], v);
        if let Ok(k) = std::str::from_utf8(k) {
            let _ = (d.get_str(k), d.opt_str(k), d.get_u64(k), d.get_u32(k), d.opt_u64(k), d.get_bool(k));
        }
    }

    // Records, keyed by the first key and by the contact-list key.
    let first = d.iter().next().and_then(|(k, _)| std::str::from_utf8(k).ok()).map(str::to_owned);
    for key in first.iter().map(String::as_str).chain(["ContactID"]) {
        let recs = d.records(key);
        let from_first = d.iter().skip_while(|(k, _)| *k != key.as_bytes()).count();
        assert_eq!(recs.iter().map(Dict::len).sum::<usize>(), from_first);
        for r in &recs {
            assert_eq!(r.iter().next().map(|(k, _)| k), Some(key.as_bytes()));
        }
    }

    // Rebuilding.
    let rebuildable = d
        .iter()
        .all(|(k, v)| !k.is_empty() && std::str::from_utf8(k).is_ok() && !k.contains(&b'\\') && !v.contains(&b'\\'));
    let b = DictBuilder::new().extend_raw(&d);
    match b.as_bytes() {
        Ok(bytes) => {
            assert!(rebuildable, "extend_raw accepted a pair it cannot write");
            assert_eq!(bytes, items.join(&SEP).as_slice());
            assert_eq!(Dict::parse(bytes).as_ref(), Ok(&d));
        }
        Err(e) => assert!(!rebuildable, "extend_raw refused a writable dictionary: {e:?}"),
    }
}

fn check_list(data: &[u8]) {
    let l = List::parse(data);
    assert_eq!(l.len(), data.iter().filter(|&&b| b == b'|').count() + 1);
    assert_eq!(l.iter().collect::<Vec<_>>().join(&b'|'), data);
    for i in 0..=l.len() {
        let _ = l.str_or_empty(i);
    }

    if let Ok(s) = StatusList::parse(data) {
        let enc = s.encode();
        assert_eq!(StatusList::parse(enc.as_bytes()).as_ref(), Ok(&s), "status list round trip");
    }

    let mut frame = b"\\blocklist\\\\sesskey\\1\\idlist\\".to_vec();
    frame.extend_from_slice(data);
    let m = Message::parse(&frame).unwrap();
    if let Ok(ClientMessage::BlockList { sesskey, ops }) = ClientMessage::decode(&m) {
        assert_eq!(sesskey, 1);
        let enc = BlockOp::encode_list(&ops);
        assert_eq!(BlockOp::parse_list(enc.as_bytes()).as_ref(), Ok(&ops), "blocklist round trip");
    }
}

fuzz_target!(|data: &[u8]| {
    check_dict(data);
    check_list(data);
});
