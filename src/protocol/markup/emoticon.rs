//! The emoticon table (SPEC §15.5) and the text-only replacement of symbols by `<i n="…"/>`.

/// The emoticon table of SPEC §15.5, in order: (name, symbol). Order matters both ways: an
/// incoming name maps to the symbol of its first row, and outgoing, when several symbols start at
/// the same place, the earliest row wins (so `:))` beats `:)`, and `happi`, `tongy`, `winc` are
/// never sent because an earlier row has the same symbol).
pub const EMOTICONS: &[(&str, &str)] = &[
    ("bigsmile", ":D"),
    ("bigsmile", ":-D"),
    ("devil", "}:)"),
    ("frazzled", ":Z"),
    ("geek", "B)"),
    ("googles", "%)"),
    ("growl", ":E"),
    ("laugh", ":))"),
    ("happy", ":)"),
    ("happy", ":-)"),
    ("happi", ":)"),
    ("heart", ":X"),
    ("mohawk", "-:"),
    ("mad", "X("),
    ("messed", "X)"),
    ("nerd", "Q)"),
    ("oops", ":G"),
    ("pirate", "P)"),
    ("scared", ":O"),
    ("sidefrown", ":{"),
    ("sinister", ":B"),
    ("smirk", ":,"),
    ("straight", ":|"),
    ("tongue", ":P"),
    ("tongue", ":p"),
    ("tongy", ":P"),
    ("upset", "B|"),
    ("wink", ";-)"),
    ("wink", ";)"),
    ("winc", ";)"),
    ("worried", ":["),
    ("kiss", ":x"),
];

/// The symbol shown for an incoming emoticon name: its first row (SPEC §15.5). Names are
/// compared ASCII case-insensitively, which costs nothing and tolerates odd senders.
pub(crate) fn symbol_for(name: &str) -> Option<&'static str> {
    EMOTICONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, s)| s)
}

/// The row whose symbol starts `text`, earliest row first.
fn match_at(text: &str) -> Option<(&'static str, &'static str)> {
    EMOTICONS.iter().copied().find(|(_, sym)| text.starts_with(sym))
}

/// Appends one decoded text node to `out` as markup text: symbols become `<i n="NAME"/>` and
/// everything else is XML-escaped by `escape`. Running on decoded text nodes only is what keeps
/// tags and entities (`&amp;)` holds `;)`) out of reach, unlike Pidgin's blind pass (SPEC §15.5,
/// §24). The scan is leftmost-first with row order breaking ties at one position, so `:P)` is
/// tongue + `)`, not `:` + pirate.
pub(crate) fn push_with_emoticons(text: &str, out: &mut String, escape: fn(&str, &mut String)) {
    let mut plain_from = 0;
    let mut i = 0;
    while i < text.len() {
        // Every symbol starts with one of these ASCII bytes; skip the table for anything else.
        let b = text.as_bytes()[i];
        if matches!(b, b':' | b'}' | b'B' | b'%' | b'-' | b'X' | b'Q' | b'P' | b';') {
            if let Some((name, sym)) = match_at(&text[i..]) {
                escape(&text[plain_from..i], out);
                out.push_str("<i n=\"");
                out.push_str(name);
                out.push_str("\"/>");
                i += sym.len();
                plain_from = i;
                continue;
            }
        }
        // Symbols are ASCII, so stepping one byte at a time only ever matches on char boundaries;
        // slicing below happens at `i` values that were either 0 or just after an ASCII symbol.
        i += 1;
        while i < text.len() && !text.is_char_boundary(i) {
            i += 1;
        }
    }
    escape(&text[plain_from..], out);
}
