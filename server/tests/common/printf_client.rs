//! Peer zoo: the "`%d` client". Pidgin's msimprpl reads every integer the server sends with C
//! `atoi` into a `guint` and writes every integer back with `printf("%d")` (SPEC §4.1, §6.5), so a
//! value ≥ 2^31 goes back negative (`2555529105` → `-1739438191`). This client does exactly that
//! and nothing smarter: integers are parsed with [`atoi_u32`] and written with [`d`]; messages it
//! sends are formatted by hand, as the plugin's `msim_send` does, not with `msim::protocol`'s
//! builders (only the challenge's nonce and the login response come from `msim::protocol`).

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use msim::protocol::dict::Dict;
use msim::protocol::login::compute_response;
use msim::protocol::{Framer, Message};

/// C `atoi` stored into a `guint`: leading whitespace and one sign allowed, digits up to the first
/// non-digit, nothing numeric → 0; the `long` result is truncated to 32 bits (glibc, LP64).
pub fn atoi_u32(raw: &[u8]) -> u32 {
    let mut s = raw.iter().copied().skip_while(|b| b.is_ascii_whitespace()).peekable();
    let negative = match s.peek() {
        Some(b'-') => {
            s.next();
            true
        }
        Some(b'+') => {
            s.next();
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    for b in s.take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    (if negative { -v } else { v }) as i32 as u32
}

/// `printf("%d", (int)x)`.
pub fn d(x: u32) -> String {
    (x as i32).to_string()
}

pub struct PrintfClient {
    stream: TcpStream,
    framer: Framer,
    backlog: VecDeque<Message>,
    /// As Pidgin stores them: atoi of `lc=2`'s `sesskey` and `userid`.
    pub sesskey: u32,
    pub uid: u32,
    rid: u32,
    /// Every integer-looking value the server sent, raw: top-level all-digit fields and the
    /// echoed keys of persist bodies. A `%d` client gets each back unchanged only when it is below
    /// 2^31.
    pub integers_seen: Vec<(String, Vec<u8>)>,
}

/// Body keys whose values a client sends back (contact ids, user ids, groups, challenges).
const ECHOED_BODY_KEYS: [&str; 4] = ["ContactID", "UserID", "GroupID", "Challenge"];

impl PrintfClient {
    /// Connects, answers the challenge and returns the client once `lc=2` arrived; panics on an
    /// `\error\` instead.
    pub fn sign_on(addr: SocketAddr, email: &str, password: &str, wait: Duration) -> PrintfClient {
        let stream = TcpStream::connect_timeout(&addr, wait).expect("connect");
        let mut c = PrintfClient {
            stream,
            framer: Framer::default(),
            backlog: VecDeque::new(),
            sesskey: 0,
            uid: 0,
            rid: 0,
            integers_seen: Vec::new(),
        };
        let lc1 = c.expect(|m| m.get_raw("lc").is_some_and(|v| atoi_u32(v) == 1), wait);
        let nonce: [u8; 64] = lc1.get_base64("nc").expect("nc").try_into().expect("64-byte nonce");
        use base64::Engine as _;
        let response = base64::engine::general_purpose::STANDARD.encode(compute_response(&nonce, email, password));
        // msim_login2's field order; integers with %d.
        c.send_text(&format!(
            "\\login2\\{}\\username\\{email}\\response\\{response}\\clientver\\{}\\langid\\{}\\imlang\\ENGLISH\\reconn\\{}\\status\\{}\\id\\{}\\final\\",
            d(196_610),
            d(697),
            d(1033),
            d(0),
            d(100),
            d(1)
        ));
        let answer = c.expect(|m| m.has("error") || m.get_raw("lc").is_some_and(|v| atoi_u32(v) == 2), wait);
        assert!(!answer.has("error"), "login of {email} failed: {answer:?}");
        c.sesskey = atoi_u32(answer.get_raw("sesskey").unwrap_or_default());
        c.uid = atoi_u32(answer.get_raw("userid").unwrap_or_default());
        c
    }

    pub fn send_text(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).expect("write");
    }

    /// A persist request as `msim_send` formats it (body keys and values given raw), and the reply
    /// with the same rid (compared after atoi, as Pidgin does).
    pub fn persist(&mut self, cmd: u32, dsn: u32, lid: u32, body: &[(&str, String)], wait: Duration) -> Message {
        self.rid += 1;
        let rid = self.rid;
        let body: Vec<String> = body.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.send_text(&format!(
            "\\persist\\{}\\sesskey\\{}\\cmd\\{}\\dsn\\{}\\uid\\{}\\lid\\{}\\rid\\{}\\body\\{}\\final\\",
            d(1),
            d(self.sesskey),
            d(cmd),
            d(dsn),
            d(self.uid),
            d(lid),
            d(rid),
            body.join("\u{1c}")
        ));
        self.expect(
            |m| m.has("error") || (m.has("persistr") && m.get_raw("rid").is_some_and(|v| atoi_u32(v) == rid)),
            wait,
        )
    }

    /// `\bm\1` to `to`, as msimprpl sends an IM.
    pub fn im(&mut self, to: u32, text: &str) {
        self.send_text(&format!(
            "\\bm\\{}\\sesskey\\{}\\t\\{}\\cv\\{}\\msg\\{text}\\final\\",
            d(1),
            d(self.sesskey),
            d(to),
            d(697)
        ));
    }

    /// The first message matching `pred` within `wait`; panics otherwise.
    pub fn expect(&mut self, pred: impl Fn(&Message) -> bool, wait: Duration) -> Message {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i).unwrap();
        }
        let deadline = Instant::now() + wait;
        loop {
            while let Some(frame) = self.framer.next_frame().expect("frame") {
                let m = Message::parse(frame).expect("parseable");
                self.note_integers(&m);
                if pred(&m) {
                    return m;
                }
                self.backlog.push_back(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "expected message did not arrive; unmatched: {:?}", self.backlog);
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut buf = [0u8; 8192];
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("server closed the connection; unmatched: {:?}", self.backlog),
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    fn note_integers(&mut self, m: &Message) {
        for (k, v) in m.iter() {
            if !v.is_empty() && v.iter().all(u8::is_ascii_digit) {
                self.integers_seen.push((String::from_utf8_lossy(k).into_owned(), v.to_vec()));
            }
        }
        if let Some(Ok(body)) = m.has("persistr").then(|| m.get_dict("body")) {
            for key in ECHOED_BODY_KEYS {
                for r in body.records(key) {
                    if let Some(v) = r.get_raw(key) {
                        self.integers_seen.push((key.to_owned(), v.to_vec()));
                    }
                }
            }
        }
    }

    /// Values among [`PrintfClient::integers_seen`] that `%d` would not give back unchanged.
    pub fn integers_not_echoed_unchanged(&self) -> Vec<(String, String)> {
        self.integers_seen
            .iter()
            .filter(|(_, raw)| d(atoi_u32(raw)).as_bytes() != raw.as_slice())
            .map(|(k, raw)| (k.clone(), String::from_utf8_lossy(raw).into_owned()))
            .collect()
    }
}

/// The value of `key` in a persist reply's body.
pub fn body_value(m: &Message, key: &str) -> Option<String> {
    let body: Dict<'_> = m.get_dict("body").ok()?;
    body.opt_str(key).ok()?.map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_and_printf_behave_like_c() {
        assert_eq!(atoi_u32(b"2555529105"), 2_555_529_105);
        assert_eq!(d(2_555_529_105), "-1739438191");
        assert_eq!(atoi_u32(b"-1739438191"), 2_555_529_105);
        assert_eq!(atoi_u32(b" 42abc"), 42);
        assert_eq!(atoi_u32(b"shellreef"), 0);
        assert_eq!(d(263_958_216), "263958216");
    }
}
