//! Output-size bounds shared by the two markup targets (included with `#[path]`; not a target).

/// Plain text only drops tags and decodes entities, so it never grows beyond a few bytes (an
/// unterminated construct kept as text is the worst case).
pub fn plain_bounded(what: &str, input: &str, output: &str) {
    assert!(
        output.len() <= input.len() + 16,
        "{what}: {} bytes of plain text for {} of input",
        output.len(),
        input.len()
    );
}

/// Output may grow at most `max_growth` times the input, plus 64 bytes (no blow-up per tag).
pub fn bounded(what: &str, input: &str, output: &str, max_growth: usize) {
    assert!(
        output.len() <= max_growth * input.len() + 64,
        "{what}: {} bytes of output for {} of input",
        output.len(),
        input.len()
    );
}
