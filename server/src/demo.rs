//! Demo accounts for `--demo`: four users who list each other, including Tom (uid 6221, the
//! default first friend, SPEC §19) and one account without a username to show the set-username
//! flow (SPEC §6.7). Seeding is idempotent: existing e-mails are left alone.

use crate::db::{Db, ProfileField};
use crate::Error;

/// One demo account as printed at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoAccount {
    pub uid: Option<u32>,
    pub email: &'static str,
    pub password: &'static str,
    pub username: Option<&'static str>,
    pub display_name: &'static str,
}

pub const DEMO_ACCOUNTS: [DemoAccount; 4] = [
    DemoAccount {
        uid: Some(6221),
        email: "tom@example.com",
        password: "tompw",
        username: Some("tom"),
        display_name: "Tom",
    },
    DemoAccount {
        uid: None,
        email: "alice@example.com",
        password: "alicepw",
        username: Some("alice"),
        display_name: "Alice",
    },
    DemoAccount { uid: None, email: "bob@example.com", password: "bobpw", username: Some("bob"), display_name: "Bob" },
    DemoAccount { uid: None, email: "carol@example.com", password: "carolpw", username: None, display_name: "Carol" },
];

/// Creates the demo accounts that do not exist yet and makes them contacts of each other.
/// Returns (uid, account) for all four.
pub fn seed(db: &Db) -> Result<Vec<(u32, DemoAccount)>, Error> {
    let mut out = Vec::new();
    for a in DEMO_ACCOUNTS {
        let uid = match db.account_by_email(a.email)? {
            Some(existing) => existing.uid,
            None => {
                let uid =
                    db.create_account_with_password(a.uid, a.email, a.password, a.username, Some(a.display_name))?;
                if a.uid == Some(6221) {
                    // Tom's profile as the capture shows it ([S] #65, #36).
                    db.set_profile(uid, ProfileField::Headline, ":-)")?;
                    db.set_profile(uid, ProfileField::BandName, "Sherwood")?;
                    db.set_profile(uid, ProfileField::SongName, "The Only Song")?;
                }
                uid
            }
        };
        out.push((uid, a));
    }
    for (owner, _) in &out {
        for (other, _) in &out {
            if owner != other && db.contact(*owner, *other)?.is_none() {
                db.add_contact(*owner, *other, None)?;
            }
        }
    }
    Ok(out)
}
