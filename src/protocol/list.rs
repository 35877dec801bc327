//! `|` lists (SPEC §4.6): the bm 100 status payload and blocklist `idlist` values.

use std::borrow::Cow;

use super::escape;
use super::message::FieldError;

/// A parsed list borrowing from its message; a leading `|` gives an empty first item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<'a> {
    items: Vec<&'a [u8]>,
}

impl<'a> List<'a> {
    pub fn parse(raw: &'a [u8]) -> List<'a> {
        // Sized once: growing the vector item by item reallocated three times for a status list.
        let mut items = Vec::with_capacity(memchr::memchr_iter(b'|', raw).count() + 1);
        items.extend(raw.split(|&b| b == b'|'));
        List { items }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn raw(&self, i: usize) -> Option<&'a [u8]> {
        self.items.get(i).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.items.iter().copied()
    }

    /// Item `i` unescaped as a string (`/1`, `/2` and msim's `/3` for `|`); missing → empty
    /// (SPEC §24: missing status-list fields are empty).
    pub fn str_or_empty(&self, i: usize) -> Result<Cow<'a, str>, FieldError> {
        let raw = self.raw(i).unwrap_or(b"");
        match escape::unescape_list_item(raw) {
            Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed).map_err(|_| ()),
            Cow::Owned(v) => String::from_utf8(v).map(Cow::Owned).map_err(|_| ()),
        }
        .map_err(|()| FieldError::NotUtf8(format!("list item {i}")))
    }
}

/// Builds a `|` list. [`ListBuilder::item`] writes a token as is (`a+`, `w0`, ids);
/// [`ListBuilder::text`] escapes free text so it cannot split the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListBuilder {
    buf: Vec<u8>,
    started: bool,
}

impl ListBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn sep(&mut self) {
        if self.started {
            self.buf.push(b'|');
        }
        self.started = true;
    }

    /// A token written verbatim; `|` and `\` are escaped anyway so the list stays well-formed.
    pub fn item(mut self, token: &str) -> Self {
        self.sep();
        escape::escape_list_item_into(token.as_bytes(), &mut self.buf);
        self
    }

    /// Free text (status messages): escaped with `/1`, `/2` and `/3`.
    pub fn text(self, text: &str) -> Self {
        self.item(text)
    }

    pub fn int(mut self, v: u64) -> Self {
        self.sep();
        let mut digits = [0u8; 20];
        self.buf.extend_from_slice(super::message::format_u64(v, &mut digits));
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_payload_by_position() {
        let l = List::parse(b"|s|1|ss|:-)|ls||ip|0|p|0");
        assert_eq!(l.len(), 11);
        assert_eq!(l.raw(0), Some(&b""[..]));
        assert_eq!(l.str_or_empty(4).unwrap(), ":-)");
        assert_eq!(l.str_or_empty(40).unwrap(), "");
    }

    #[test]
    fn text_with_bar_round_trips() {
        let b = ListBuilder::new().item("").item("ss").text("a|b/c");
        let l = List::parse(b.as_bytes());
        assert_eq!(l.len(), 3);
        assert_eq!(l.str_or_empty(2).unwrap(), "a|b/c");
    }
}
