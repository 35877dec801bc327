//! Profile pictures: the `impl Db` methods over the `pictures` table, and what a picture may be.
//!
//! MySpace served each user's picture over HTTP; the IM protocol only carries its URL (`ImageURL`
//! in lookups, `AvatarUrl` in contact records, SPEC §9.2, §10.1) and clients fetch it and use the
//! URL as the icon's checksum (SPEC §9.3). msim-server keeps the picture bytes here, its HTTP side
//! (`http.rs`) serves them, and "publishing" writes the URL where the protocol side reads it: the
//! account's `image_url` column. The protocol code therefore needs no change for pictures.
//!
//! A URL names one version of a picture (`<base>/pictures/<uid>/<version>.<ext>`), so a changed
//! picture gets a new URL and clients fetch it again, and the bytes behind a URL never change.
//! The table also remembers the URL last published for each picture (so that a server started
//! without its HTTP side withdraws only its own URLs, never one a client set with `\setinfo\`)
//! and the base URL of the last HTTP side (so that `msim-server account set-picture`, run beside a
//! running server, publishes at once).
//!
//! Uploading a picture through the IM protocol is not supported: SPEC §25 names 8/13 "set profile
//! picture" from one source only, with no body; pictures are set by the operator
//! (`account set-picture`), as on MySpace they were set on the web site.

use rusqlite::{params, Connection, OptionalExtension};

use super::Db;

/// The table and the one-row base-URL table; created by `Db::open`.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pictures (
    uid     INTEGER PRIMARY KEY REFERENCES accounts(uid) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    data    BLOB NOT NULL,
    url     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS picture_base (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    base TEXT NOT NULL
);
";

/// Largest picture accepted. MySpace's profile thumbnails were a few KiB; 256 KiB allows a
/// generous photo while keeping every picture one small read and one small HTTP reply.
pub const MAX_PICTURE_BYTES: usize = 256 * 1024;

/// Largest width and height accepted: clients scale buddy icons down to 96 px or less (Pidgin's
/// icon spec); more pixels only cost memory in every client that decodes them.
pub const MAX_PICTURE_SIDE: u32 = 1024;

/// The picture formats browsers and libpurple's icon loader (gdk-pixbuf) all read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureKind {
    Png,
    Gif,
    Jpeg,
}

impl PictureKind {
    pub fn content_type(self) -> &'static str {
        match self {
            PictureKind::Png => "image/png",
            PictureKind::Gif => "image/gif",
            PictureKind::Jpeg => "image/jpeg",
        }
    }

    /// File extension in URLs.
    pub fn ext(self) -> &'static str {
        match self {
            PictureKind::Png => "png",
            PictureKind::Gif => "gif",
            PictureKind::Jpeg => "jpg",
        }
    }

    fn from_ext(s: &str) -> Option<PictureKind> {
        [PictureKind::Png, PictureKind::Gif, PictureKind::Jpeg].into_iter().find(|k| k.ext() == s)
    }
}

/// One stored picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub uid: u32,
    /// Starts at 1, +1 per change; part of the URL.
    pub version: u32,
    pub kind: PictureKind,
    pub data: Vec<u8>,
}

impl Picture {
    /// The picture's URL under `base` (no trailing slash).
    pub fn url(&self, base: &str) -> String {
        format!("{base}/pictures/{}/{}.{}", self.uid, self.version, self.kind.ext())
    }
}

/// Why a picture was refused.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("the file is empty")]
    Empty,
    #[error("the picture is {0} bytes; the limit is {MAX_PICTURE_BYTES} bytes (256 KiB)")]
    TooLarge(usize),
    #[error("not a PNG, GIF or JPEG picture (the first bytes are {0})")]
    UnknownType(String),
    #[error("the {0} header is truncated or malformed")]
    Malformed(&'static str),
    #[error("the picture is {0}x{1} pixels; at most {MAX_PICTURE_SIDE}x{MAX_PICTURE_SIDE} are accepted")]
    TooBig(u32, u32),
    #[error("no such account")]
    NoSuchAccount,
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
}

/// Checks `bytes` against the limits and tells its format by its signature (never by a file
/// name): PNG, GIF or JPEG with a readable size no larger than `MAX_PICTURE_SIDE`.
pub fn check_picture(bytes: &[u8]) -> Result<PictureKind, PictureError> {
    if bytes.is_empty() {
        return Err(PictureError::Empty);
    }
    if bytes.len() > MAX_PICTURE_BYTES {
        return Err(PictureError::TooLarge(bytes.len()));
    }
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (kind, w, h) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        // IHDR is the first chunk: length 13, "IHDR", width, height (big-endian).
        if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
            return Err(PictureError::Malformed("PNG"));
        }
        (PictureKind::Png, be32(&bytes[16..20]), be32(&bytes[20..24]))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        if bytes.len() < 10 {
            return Err(PictureError::Malformed("GIF"));
        }
        let le16 = |i: usize| u32::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
        (PictureKind::Gif, le16(6), le16(8))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        let (w, h) = jpeg_size(bytes).ok_or(PictureError::Malformed("JPEG"))?;
        (PictureKind::Jpeg, w, h)
    } else {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Err(PictureError::UnknownType(head.join(" ")));
    };
    if w == 0 || h == 0 {
        return Err(PictureError::Malformed(match kind {
            PictureKind::Png => "PNG",
            PictureKind::Gif => "GIF",
            PictureKind::Jpeg => "JPEG",
        }));
    }
    if w > MAX_PICTURE_SIDE || h > MAX_PICTURE_SIDE {
        return Err(PictureError::TooBig(w, h));
    }
    Ok(kind)
}

/// Width and height from a JPEG's first start-of-frame marker (SOF0–SOF15 except DHT C4, JPG C8
/// and DAC CC), walking the marker segments from the start.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let seg = b.get(i + 4..i + 9)?;
            return Some((
                u32::from(u16::from_be_bytes([seg[3], seg[4]])),
                u32::from(u16::from_be_bytes([seg[1], seg[2]])),
            ));
        }
        if len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

fn kind_of(s: &str) -> PictureKind {
    PictureKind::from_ext(s).unwrap_or(PictureKind::Png)
}

/// Sets `image_url` of `uid` to `url`, unless the account's URL is one a client chose (neither
/// empty nor the URL last published for this picture).
fn publish_one(c: &Connection, uid: u32, url: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE accounts SET image_url = ?2 WHERE uid = ?1 AND (image_url = '' OR image_url = \
         (SELECT url FROM pictures WHERE uid = ?1))",
        params![uid, url],
    )?;
    c.execute("UPDATE pictures SET url = ?2 WHERE uid = ?1", params![uid, url])?;
    Ok(())
}

impl Db {
    /// Stores `bytes` as the picture of `uid` (a new version) after `check_picture`, and
    /// publishes its URL when an HTTP side has recorded its base (`publish_pictures`). An
    /// explicit picture replaces any `ImageURL` the account had. Returns the stored picture's
    /// version and the URL published, if any.
    pub fn set_picture(&self, uid: u32, bytes: &[u8]) -> Result<(Picture, Option<String>), PictureError> {
        let kind = check_picture(bytes)?;
        let mut c = self.lock();
        let tx = c.transaction()?;
        if tx.query_row("SELECT 1 FROM accounts WHERE uid = ?1", [uid], |_| Ok(())).optional()?.is_none() {
            return Err(PictureError::NoSuchAccount);
        }
        let old: Option<u32> =
            tx.query_row("SELECT version FROM pictures WHERE uid = ?1", [uid], |r| r.get(0)).optional()?;
        let version = old.map_or(1, |v| v.wrapping_add(1).max(1));
        tx.execute(
            "INSERT INTO pictures (uid, version, kind, data, url) VALUES (?1, ?2, ?3, ?4, '') \
             ON CONFLICT (uid) DO UPDATE SET version = ?2, kind = ?3, data = ?4",
            params![uid, version, kind.ext(), bytes],
        )?;
        let pic = Picture { uid, version, kind, data: bytes.to_vec() };
        let base: Option<String> =
            tx.query_row("SELECT base FROM picture_base WHERE id = 1", [], |r| r.get(0)).optional()?;
        let url = base.map(|b| pic.url(&b));
        // The operator's picture replaces whatever URL the account had.
        tx.execute("UPDATE accounts SET image_url = ?2 WHERE uid = ?1", params![uid, url.as_deref().unwrap_or("")])?;
        tx.execute("UPDATE pictures SET url = ?2 WHERE uid = ?1", params![uid, url.as_deref().unwrap_or("")])?;
        tx.commit()?;
        Ok((pic, url))
    }

    /// Removes the picture of `uid` and the URL published for it. False when it had none.
    pub fn clear_picture(&self, uid: u32) -> Result<bool, PictureError> {
        let mut c = self.lock();
        let tx = c.transaction()?;
        tx.execute(
            "UPDATE accounts SET image_url = '' WHERE uid = ?1 AND image_url = (SELECT url FROM pictures WHERE uid = ?1)",
            [uid],
        )?;
        let n = tx.execute("DELETE FROM pictures WHERE uid = ?1", [uid])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// The current picture of `uid`.
    pub fn picture(&self, uid: u32) -> Result<Option<Picture>, PictureError> {
        let c = self.lock();
        let row = c
            .query_row("SELECT version, kind, data FROM pictures WHERE uid = ?1", [uid], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?))
            })
            .optional()?;
        Ok(row.map(|(version, kind, data)| Picture { uid, version, kind: kind_of(&kind), data }))
    }

    /// Publishes every stored picture under `base` (an HTTP side started), or withdraws the URLs
    /// published before (`None`: no HTTP side, those URLs would lead nowhere). URLs that clients
    /// set themselves are left alone. Records `base` for `set_picture`.
    pub fn publish_pictures(&self, base: Option<&str>) -> Result<(), PictureError> {
        let mut c = self.lock();
        let tx = c.transaction()?;
        let pics: Vec<(u32, u32, String)> = {
            let mut st = tx.prepare("SELECT uid, version, kind FROM pictures")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        match base {
            Some(b) => {
                tx.execute(
                    "INSERT INTO picture_base (id, base) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET base = ?1",
                    [b],
                )?;
                for (uid, version, kind) in pics {
                    let url = Picture { uid, version, kind: kind_of(&kind), data: Vec::new() }.url(b);
                    publish_one(&tx, uid, &url)?;
                }
            }
            None => {
                tx.execute("DELETE FROM picture_base", [])?;
                for (uid, _, _) in pics {
                    publish_one(&tx, uid, "")?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&[8, 6, 0, 0, 0]);
        v
    }

    #[test]
    fn pictures_are_checked_by_signature_size_and_dimensions() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 48, 0, 64, 3].to_vec();
        let cases: Vec<(Vec<u8>, Result<PictureKind, &str>)> = vec![
            (png(48, 48), Ok(PictureKind::Png)),
            (b"GIF89a\x30\x00\x30\x00".to_vec(), Ok(PictureKind::Gif)),
            (jpeg, Ok(PictureKind::Jpeg)),
            (Vec::new(), Err("empty")),
            (b"hello world".to_vec(), Err("not a PNG, GIF or JPEG picture (the first bytes are 68 65 6c")),
            (png(2000, 10), Err("2000x10 pixels")),
            (png(0, 10), Err("PNG header is truncated or malformed")),
            (b"\x89PNG\r\n\x1a\n\0\0".to_vec(), Err("PNG header")),
            (vec![0xFF, 0xD8, 0xFF, 0xD9], Err("JPEG header")),
            ([png(1, 1), vec![0; MAX_PICTURE_BYTES]].concat(), Err("the limit is 262144 bytes")),
        ];
        for (bytes, want) in cases {
            match (check_picture(&bytes), want) {
                (Ok(k), Ok(w)) => assert_eq!(k, w),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e} does not say {w:?}"),
                (got, want) => panic!("{got:?} != {want:?}"),
            }
        }
    }

    #[test]
    fn a_new_version_gets_a_new_url_and_a_client_url_survives_publishing() {
        let db = Db::open(":memory:").unwrap();
        let a = db.create_account(None, "a@x.y", &[0; 20], Some("a"), None).unwrap();
        let b = db.create_account(None, "b@x.y", &[0; 20], Some("b"), None).unwrap();
        // No HTTP side yet: stored, nothing published.
        let (p1, url) = db.set_picture(a, &png(8, 8)).unwrap();
        assert_eq!((p1.version, url), (1, None));
        db.publish_pictures(Some("http://127.0.0.1:9")).unwrap();
        assert_eq!(db.account(a).unwrap().unwrap().image_url, "http://127.0.0.1:9/pictures/100000/1.png");
        let (p2, url) = db.set_picture(a, &png(9, 9)).unwrap();
        assert_eq!(url.as_deref(), Some("http://127.0.0.1:9/pictures/100000/2.png"));
        assert_eq!(db.picture(a).unwrap().unwrap(), p2);
        // b chose its own URL, then got a picture, then set its own URL again: publishing keeps it.
        db.set_picture(b, &png(8, 8)).unwrap();
        db.set_profile(b, super::super::ProfileField::ImageUrl, "http://elsewhere/b.png").unwrap();
        db.publish_pictures(None).unwrap();
        assert_eq!(db.account(a).unwrap().unwrap().image_url, "", "a's published URL is withdrawn");
        assert_eq!(db.account(b).unwrap().unwrap().image_url, "http://elsewhere/b.png");
        db.publish_pictures(Some("http://h:1")).unwrap();
        assert_eq!(db.account(a).unwrap().unwrap().image_url, "http://h:1/pictures/100000/2.png");
        assert_eq!(db.account(b).unwrap().unwrap().image_url, "http://elsewhere/b.png");
        assert!(db.clear_picture(a).unwrap());
        assert_eq!((db.account(a).unwrap().unwrap().image_url, db.picture(a).unwrap()), (String::new(), None));
        assert!(matches!(db.set_picture(999, &png(1, 1)), Err(PictureError::NoSuchAccount)));
    }
}
