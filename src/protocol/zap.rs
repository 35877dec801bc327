//! Zaps ("attention", SPEC §11.4): bm 121 with `!!!ZAP_SEND!!!=RTE_BTN_ZAPS_<n>`.

/// The marker that identifies a zap payload.
pub const ZAP_PREFIX: &str = "!!!ZAP_SEND!!!=RTE_BTN_ZAPS_";

/// The ten zaps, numbered as on the wire.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zap {
    Zap = 0,
    Whack = 1,
    Torch = 2,
    Smooch = 3,
    Hug = 4,
    Slap = 5,
    Goose = 6,
    HighFive = 7,
    Punk = 8,
    Raspberry = 9,
}

impl Zap {
    pub const ALL: [Zap; 10] = [
        Zap::Zap,
        Zap::Whack,
        Zap::Torch,
        Zap::Smooch,
        Zap::Hug,
        Zap::Slap,
        Zap::Goose,
        Zap::HighFive,
        Zap::Punk,
        Zap::Raspberry,
    ];

    pub fn from_number(n: u32) -> Option<Zap> {
        Zap::ALL.get(n as usize).copied()
    }

    pub fn number(self) -> u32 {
        self as u32
    }

    /// Display name (SPEC §11.4).
    pub fn name(self) -> &'static str {
        match self {
            Zap::Zap => "Zap",
            Zap::Whack => "Whack",
            Zap::Torch => "Torch",
            Zap::Smooch => "Smooch",
            Zap::Hug => "Hug",
            Zap::Slap => "Slap",
            Zap::Goose => "Goose",
            Zap::HighFive => "High-five",
            Zap::Punk => "Punk",
            Zap::Raspberry => "Raspberry",
        }
    }

    /// The bm 121 payload for this zap.
    pub fn payload(self) -> String {
        format!("{ZAP_PREFIX}{}", self as u8)
    }

    /// Reads a payload containing the zap marker. The number is clamped to 0–9 as Pidgin does
    /// (SPEC §11.4); a marker without digits is not a zap.
    pub fn parse_payload(text: &str) -> Option<Zap> {
        let at = text.find(ZAP_PREFIX)?;
        let digits: String = text[at + ZAP_PREFIX.len()..].chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            return None;
        }
        let n = digits.parse::<u64>().unwrap_or(u64::MAX).min(9) as u32;
        Zap::from_number(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zap_round_trips_and_big_numbers_clamp() {
        for z in Zap::ALL {
            assert_eq!(Zap::parse_payload(&z.payload()), Some(z));
        }
        assert_eq!(Zap::parse_payload("!!!ZAP_SEND!!!=RTE_BTN_ZAPS_99999999999999999999999"), Some(Zap::Raspberry));
        assert_eq!(Zap::parse_payload("!!!ZAP_SEND!!!=RTE_BTN_ZAPS_x"), None);
        assert_eq!(Zap::parse_payload("hello"), None);
    }
}
