//! Presence codes (SPEC §12) and the bm 100 status list (SPEC §11.5).

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

/// The bm 100 payload `|s|<code>|ss|<text>|ls|<ls>|ip|<ip>|p|<p>`, read by position (SPEC §11.5):
/// missing trailing fields are empty (SPEC §24: revival servers omit the tail).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusList {
    pub code: u32,
    /// Status / headline text, unescaped.
    pub text: String,
    pub ls: String,
    pub ip: String,
    pub p: String,
}

impl StatusList {
    pub fn new(presence: Presence, text: &str) -> StatusList {
        StatusList { code: presence.code(), text: text.to_owned(), ls: String::new(), ip: "0".into(), p: "0".into() }
    }

    pub fn presence(&self) -> Presence {
        Presence::from_code(self.code)
    }

    /// Parses the raw (still escaped) list. The code at position 2 is required.
    pub fn parse(raw: &[u8]) -> Result<StatusList, FieldError> {
        let l = List::parse(raw);
        let code = l
            .raw(2)
            .and_then(parse_u64)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| FieldError::BadInteger("status code".into()))?;
        Ok(StatusList {
            code,
            text: l.str_or_empty(4)?.into_owned(),
            ls: l.str_or_empty(6)?.into_owned(),
            ip: l.str_or_empty(8)?.into_owned(),
            p: l.str_or_empty(10)?.into_owned(),
        })
    }

    /// The wire form with every field present.
    pub fn encode(&self) -> ListBuilder {
        ListBuilder::new()
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
            .text(&self.p)
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
    fn too_short_or_bad_code_is_an_error() {
        assert!(StatusList::parse(b"|s").is_err());
        assert!(StatusList::parse(b"|s|x|ss|a").is_err());
        assert!(StatusList::parse(b"").is_err());
    }

    #[test]
    fn text_with_bars_and_slashes_round_trips() {
        let s = StatusList::new(Presence::Away, "a|b /1 c\\");
        assert_eq!(StatusList::parse(s.encode().as_bytes()).unwrap(), s);
    }
}
