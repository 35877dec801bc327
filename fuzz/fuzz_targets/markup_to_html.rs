//! Incoming markup → HTML (SPEC §15.2, §24) on arbitrary text.
//!
//! Invariants:
//! - the HTML is well-formed (`is_well_formed`), whatever the peer sent;
//! - its length is bounded by a linear function of the input's (no blow-up per tag);
//! - the plain-text converters never panic and stay linear too;
//! - the HTML, typed back as if by a user, converts to well-formed markup that is never `final`.
#![no_main]

#[path = "bounds.rs"]
mod bounds;

use bounds::{bounded, plain_bounded};
use libfuzzer_sys::fuzz_target;
use msim::protocol::markup::{html_to_markup, html_to_plain, is_well_formed, markup_to_html, markup_to_plain};

/// Output may grow at most this many times the input, plus 64 bytes. Measured worst: 19.3× for
/// `<f>` (an `<f>` with no attributes opens `<font size="4"><span style="font-size: 9pt">` and
/// closes both), repeated up to `MAX_DEPTH`; see README.md.
const MAX_GROWTH: usize = 24;

fuzz_target!(|data: &[u8]| {
    let Ok(markup) = std::str::from_utf8(data) else { return };
    let html = markup_to_html(markup);
    assert!(is_well_formed(&html), "markup_to_html({markup:?}) = {html:?} is not well-formed");
    bounded("markup_to_html", markup, &html, MAX_GROWTH);
    let plain = markup_to_plain(markup);
    plain_bounded("markup_to_plain", markup, &plain);
    plain_bounded("html_to_plain", markup, &html_to_plain(markup));

    let back = html_to_markup(&html);
    assert!(is_well_formed(&back), "html_to_markup({html:?}) = {back:?} is not well-formed");
    assert_ne!(back, "final");
});
