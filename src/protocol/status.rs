//! Presence codes (SPEC §12) and the bm 100 status list (SPEC §11.5, §25).

use super::list::{List, ListBuilder};
use super::message::{parse_u64, FieldError};

/// A presence code as others see it on the wire. Invisible is sent as [`Presence::Offline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    Offline,
    Online,
    Idle,
    Away,
    /// A code neither source defines; Pidgin shows such users as available (SPEC §11.5).
    Other(u32),
}

impl Presence {
    pub fn from_code(code: u32) -> Presence {
        match code {
            0 => Presence::Offline,
            1 => Presence::Online,
            2 => Presence::Idle,
            5 => Presence::Away,
            n => Presence::Other(n),
        }
    }

    pub fn code(self) -> u32 {
        match self {
            Presence::Offline => 0,
            Presence::Online => 1,
            Presence::Idle => 2,
            Presence::Away => 5,
            Presence::Other(n) => n,
        }
    }
}

/// The bm 100 payload `|s|<code>|ss|<text>|ls|<ls>|ip|<ip>|p|<p>` (SPEC §11.5), read as key/value
/// pairs (SPEC §25: later servers append `caps` and `ts` pairs, so positions cannot be trusted).
/// Missing keys are empty (SPEC §24: revival servers omit the `|ls||ip|0|p|0` tail).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusList {
    pub code: u32,
    /// Status / headline text, unescaped.
    pub text: String,
    pub ls: String,
    /// `0` in the capture; later servers may send an address (SPEC §25).
    pub ip: String,
    pub p: String,
    /// `caps` (SPEC §25, meaning unknown), unescaped; `None` when absent.
    pub caps: Option<String>,
    /// `ts`, Unix time (SPEC §25); `None` when absent. A `ts` that is not a number is read as
    /// absent: the status itself is still good.
    pub ts: Option<u64>,
}

impl StatusList {
    pub fn new(presence: Presence, text: &str) -> StatusList {
        StatusList { code: presence.code(), text: text.to_owned(), ip: "0".into(), p: "0".into(), ..Default::default() }
    }

    pub fn presence(&self) -> Presence {
        Presence::from_code(self.code)
    }

    /// Parses the raw (still escaped) list. The code (`s`) is required. A leading empty item (the
    /// text before the first bar) is skipped; then items pair up as key, value. The first
    /// occurrence of a key counts.
    pub fn parse(raw: &[u8]) -> Result<StatusList, FieldError> {
        let l = List::parse(raw);
        let start = usize::from(l.raw(0) == Some(b""));
        let value = |key: &[u8]| (start..l.len()).step_by(2).find(|i| l.raw(*i) == Some(key)).map(|i| i + 1);
        let text = |key: &[u8]| match value(key) {
            Some(i) => l.str_or_empty(i).map(std::borrow::Cow::into_owned),
            None => Ok(String::new()),
        };
        let code = value(b"s")
            .and_then(|i| l.raw(i))
            .and_then(parse_u64)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| FieldError::BadInteger("status code".into()))?;
        Ok(StatusList {
            code,
            text: text(b"ss")?,
            ls: text(b"ls")?,
            ip: text(b"ip")?,
            p: text(b"p")?,
            caps: value(b"caps").map(|_| text(b"caps")).transpose()?,
            ts: value(b"ts").and_then(|i| l.raw(i)).and_then(parse_u64),
        })
    }

    /// The wire form: every field of SPEC §11.5, then `caps` and `ts` when set.
    pub fn encode(&self) -> ListBuilder {
        let mut b = ListBuilder::new()
            .item("")
            .item("s")
            .int(u64::from(self.code))
            .item("ss")
            .text(&self.text)
            .item("ls")
            .text(&self.ls)
            .item("ip")
            .text(&self.ip)
            .item("p")
            .text(&self.p);
        if let Some(c) = &self.caps {
            b = b.item("caps").text(c);
        }
        if let Some(ts) = self.ts {
            b = b.item("ts").int(ts);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_status_lists() {
        let s = StatusList::parse(b"|s|1|ss|:-)|ls||ip|0|p|0").unwrap();
        assert_eq!((s.presence(), s.text.as_str(), s.ip.as_str()), (Presence::Online, ":-)", "0"));
        assert_eq!(s.encode().as_bytes(), b"|s|1|ss|:-)|ls||ip|0|p|0");
        let s = StatusList::parse(b"|s|0|ss|Offline").unwrap();
        assert_eq!((s.presence(), s.text.as_str(), s.p.as_str()), (Presence::Offline, "Offline", ""));
    }

    #[test]
    fn pairs_are_read_by_key_with_extras_and_missing_keys_empty() {
        // SPEC §25: later servers append `caps` and `ts`, and `ip` may be non-zero.
        let s = StatusList::parse(b"|s|1|ss|hi|ls||ip|3232235777|p|0|caps|557056|ts|1262304000").unwrap();
        let want = StatusList {
            code: 1,
            text: "hi".into(),
            ls: String::new(),
            ip: "3232235777".into(),
            p: "0".into(),
            caps: Some("557056".into()),
            ts: Some(1_262_304_000),
        };
        assert_eq!(s, want);
        assert_eq!(s.encode().as_bytes(), b"|s|1|ss|hi|ls||ip|3232235777|p|0|caps|557056|ts|1262304000");
        // Another order, and keys a position-based reader would misread.
        let s = StatusList::parse(b"|ts|1262304000|ss|s|s|5").unwrap();
        assert_eq!((s.code, s.text.as_str(), s.ts, s.caps.as_deref()), (5, "s", Some(1_262_304_000), None));
        // SPEC §24: short lists, missing keys empty; no leading bar; a ts that is not a number.
        let s = StatusList::parse(b"|s|2|ss|brb").unwrap();
        assert_eq!((s.code, s.text.as_str(), s.ls.as_str(), s.p.as_str(), s.ts), (2, "brb", "", "", None));
        let s = StatusList::parse(b"s|0|ss|Offline|ts|soon").unwrap();
        assert_eq!((s.presence(), s.text.as_str(), s.ts), (Presence::Offline, "Offline", None));
        // The first occurrence of a key counts; values are unescaped.
        let s = StatusList::parse(b"|s|1|ss|a/1b|ss|later|caps|x/3y").unwrap();
        assert_eq!((s.text.as_str(), s.caps.as_deref()), ("a/b", Some("x|y")));
    }

    #[test]
    fn too_short_or_bad_code_is_an_error() {
        assert!(StatusList::parse(b"|s").is_err());
        assert!(StatusList::parse(b"|s|x|ss|a").is_err());
        assert!(StatusList::parse(b"").is_err());
        assert!(StatusList::parse(b"|ss|no code|ls|").is_err());
        assert!(StatusList::parse(b"|s|").is_err());
    }

    #[test]
    fn text_with_bars_and_slashes_round_trips() {
        let mut s = StatusList::new(Presence::Away, "a|b /1 c\\");
        assert_eq!(StatusList::parse(s.encode().as_bytes()).unwrap(), s);
        s.caps = Some("c|a/ps".into());
        s.ts = Some(7);
        assert_eq!(StatusList::parse(s.encode().as_bytes()).unwrap(), s);
    }
}
