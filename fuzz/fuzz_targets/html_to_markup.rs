//! Outgoing HTML → markup (SPEC §15.4, §24) on arbitrary text.
//!
//! Invariants:
//! - the markup is well-formed and never exactly `final` (SPEC §2.2);
//! - its length is bounded by a linear function of the input's;
//! - `html_to_plain` never panics and stays linear;
//! - the markup, received back, converts to well-formed HTML.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msim::protocol::markup::{html_to_markup, html_to_plain, is_well_formed, markup_to_html};

/// Output may grow at most this many times the input, plus 64 bytes. Measured worst: 9× for `:{`
/// (`<i n="sidefrown"/>`); see README.md.
const MAX_GROWTH: usize = 16;

/// Plain text only drops tags and decodes entities, so it never grows beyond a few bytes (an
/// unterminated construct kept as text is the worst case).
fn plain_bounded(what: &str, input: &str, output: &str) {
    assert!(
        output.len() <= input.len() + 16,
        "{what}: {} bytes of plain text for {} of input",
        output.len(),
        input.len()
    );
}

fn bounded(what: &str, input: &str, output: &str) {
    assert!(
        output.len() <= MAX_GROWTH * input.len() + 64,
        "{what}: {} bytes of output for {} of input",
        output.len(),
        input.len()
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else { return };
    let markup = html_to_markup(html);
    assert!(is_well_formed(&markup), "html_to_markup({html:?}) = {markup:?} is not well-formed");
    assert_ne!(markup, "final", "html_to_markup({html:?}) is a bare `final`");
    bounded("html_to_markup", html, &markup);
    let plain = html_to_plain(html);
    plain_bounded("html_to_plain", html, &plain);

    let back = markup_to_html(&markup);
    assert!(is_well_formed(&back), "markup_to_html({markup:?}) = {back:?} is not well-formed");
});
