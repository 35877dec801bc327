//! Outgoing HTML → markup (SPEC §15.4, §24) on arbitrary text.
//!
//! Invariants:
//! - the markup is well-formed and never exactly `final` (SPEC §2.2);
//! - its length is bounded by a linear function of the input's;
//! - `html_to_plain` never panics and stays linear;
//! - the markup, received back, converts to well-formed HTML.
#![no_main]

#[path = "bounds.rs"]
mod bounds;

use bounds::{bounded, plain_bounded};
use libfuzzer_sys::fuzz_target;
use msim::protocol::markup::{html_to_markup, html_to_plain, is_well_formed, markup_to_html};

/// Output may grow at most this many times the input, plus 64 bytes. Measured worst: 9× for `:{`
/// (`<i n="sidefrown"/>`); see README.md.
const MAX_GROWTH: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else { return };
    let markup = html_to_markup(html);
    assert!(is_well_formed(&markup), "html_to_markup({html:?}) = {markup:?} is not well-formed");
    assert_ne!(markup, "final", "html_to_markup({html:?}) is a bare `final`");
    bounded("html_to_markup", html, &markup, MAX_GROWTH);
    let plain = html_to_plain(html);
    plain_bounded("html_to_plain", html, &plain);

    let back = markup_to_html(&markup);
    assert!(is_well_formed(&back), "markup_to_html({markup:?}) = {back:?} is not well-formed");
});
