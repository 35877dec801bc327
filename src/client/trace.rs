//! Protocol trace text: a frame as wire text, with secrets redacted.
//!
//! The password never goes on the wire, but the login `response` is derived from it (SPEC §6.3)
//! and would allow an offline guessing attack, so it is replaced before anyone sees it.

use crate::protocol::Message;

/// Fields whose values never appear in a trace.
const SECRET_KEYS: [&[u8]; 2] = [b"response", b"password"];

/// What replaces a secret value.
pub const REDACTED: &str = "[redacted]";

/// The message as wire text (`\k\v…\final\`), secret values replaced, invalid UTF-8 replaced.
pub fn redact(msg: &Message) -> String {
    let mut out = String::with_capacity(msg.as_bytes().len() + 8);
    for (k, v) in msg.iter() {
        out.push('\\');
        out.push_str(&String::from_utf8_lossy(k));
        out.push('\\');
        if SECRET_KEYS.contains(&k) {
            out.push_str(REDACTED);
        } else {
            out.push_str(&String::from_utf8_lossy(v));
        }
    }
    out.push_str("\\final\\");
    out
}

/// A frame that did not parse, as text.
pub fn raw(frame: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(frame).into_owned();
    s.push_str("\\final\\");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_is_redacted_and_everything_else_kept() {
        let m = Message::parse(b"\\login2\\196610\\username\\a@b.c\\response\\QUJD/+==\\clientver\\697").unwrap();
        let t = redact(&m);
        assert_eq!(t, "\\login2\\196610\\username\\a@b.c\\response\\[redacted]\\clientver\\697\\final\\");
        assert!(!t.contains("QUJD"));
    }
}
