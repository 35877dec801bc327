//! Pictures of the demo accounts (`--demo`, `demo.rs`): drawn for the project by
//! `server/pictures/draw.py` and embedded here, so that a demo server shows buddy icons in
//! Pidgin at once. Stored only for demo accounts that have no picture yet (seeding stays
//! idempotent and never replaces a picture set with `account set-picture`).

use crate::db::pictures::PictureError;
use crate::db::Db;
use crate::demo::DemoAccount;

/// (e-mail, PNG) of each demo account (matched by e-mail: Carol has no username yet, SPEC §6.7).
const PICTURES: [(&str, &[u8]); 4] = [
    ("tom@example.com", include_bytes!("../pictures/demo/tom.png")),
    ("alice@example.com", include_bytes!("../pictures/demo/alice.png")),
    ("bob@example.com", include_bytes!("../pictures/demo/bob.png")),
    ("carol@example.com", include_bytes!("../pictures/demo/carol.png")),
];

/// Stores each seeded demo account's picture unless it has one.
pub fn seed(db: &Db, accounts: &[(u32, DemoAccount)]) -> Result<(), PictureError> {
    for (uid, a) in accounts {
        let Some((_, png)) = PICTURES.iter().find(|(email, _)| *email == a.email) else { continue };
        if db.picture(*uid)?.is_none() {
            db.set_picture(*uid, png)?;
        }
    }
    Ok(())
}
