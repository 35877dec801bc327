//! Other clients' logins (SPEC §25 "Login response layouts differ by client"): Digsby's and
//! Miranda's response layouts, and the three password cuts (Pidgin: 10 UTF-8 bytes then
//! lower-case; Digsby: lower-case then 10 characters; Miranda: 10 UTF-16 units then lower-case),
//! with the lower-casing differences of capital sigma and dotted capital I.
//!
//! Every response here is built from SPEC §6.3 and §25 alone — SHA-1, RC4 and the plaintext bytes
//! written out in this file — and sent as a raw `login2`, not with msim's login code.

mod common;

use base64::Engine as _;
use common::*;
use msim::protocol::kinds::ServerMessage;
use rc4::{consts::U16, KeyInit, Rc4, StreamCipher};
use sha1::{Digest, Sha1};

/// The IP list Pidgin can compile in (SPEC §6.3), 25 bytes: Miranda sends 25 raw bytes (§25).
const LIST_25: [u8; 25] = [0, 0, 0, 0, 5, 127, 0, 0, 1, 0, 0, 0, 0, 10, 0, 0, 64, 192, 168, 88, 1, 192, 168, 60, 1];

fn utf16le(units: impl IntoIterator<Item = u16>) -> Vec<u8> {
    units.into_iter().flat_map(u16::to_le_bytes).collect()
}

/// Pidgin's cut (SPEC §6.3 steps 2–4): the first 10 bytes of UTF-8, a split character dropped,
/// then lower-cased.
fn pidgin_cut(pw: &str) -> Vec<u8> {
    let mut end = pw.len().min(10);
    while !pw.is_char_boundary(end) {
        end -= 1;
    }
    utf16le(pw[..end].to_lowercase().encode_utf16())
}

/// Digsby's cut (SPEC §25): lower-cased, then the first 10 characters.
fn digsby_cut(pw: &str) -> Vec<u8> {
    let s: String = pw.to_lowercase().chars().take(10).collect();
    utf16le(s.encode_utf16())
}

/// Miranda's cut (SPEC §25): the first 10 UTF-16 units, then lower-cased.
fn miranda_cut(pw: &str) -> Vec<u8> {
    let units: Vec<u16> = pw.encode_utf16().take(10).collect();
    utf16le(String::from_utf16(&units).expect("whole characters").to_lowercase().encode_utf16())
}

/// SPEC §6.3 steps 5–9: h1 = SHA1(normalised), key = SHA1(h1 ‖ nonce2)[0..16], RC4 over `plain`.
fn seal(nonce: &[u8; 64], normalised: &[u8], plain: &[u8]) -> Vec<u8> {
    let h1 = Sha1::digest(normalised);
    let k = Sha1::new().chain_update(h1).chain_update(&nonce[32..]).finalize();
    let mut out = plain.to_vec();
    Rc4::<U16>::new_from_slice(&k[..16]).unwrap().apply_keystream(&mut out);
    out
}

/// Pidgin's plaintext (SPEC §6.3 step 8): nonce1, e-mail, NUL, 0xFB to a multiple of 4, L = 0.
fn pidgin_plain(nonce: &[u8; 64], email: &str) -> Vec<u8> {
    let mut p = [&nonce[..32], email.as_bytes(), &[0]].concat();
    while p.len() % 4 != 0 {
        p.push(0xFB);
    }
    p.extend_from_slice(&[0, 0, 0, 0]);
    p
}

/// Digsby's plaintext (SPEC §25): nonce1, e-mail, NUL, a 4-byte big-endian count of IPv4
/// addresses, 4 bytes each, no padding.
fn digsby_plain(nonce: &[u8; 64], email: &str, addrs: &[[u8; 4]]) -> Vec<u8> {
    let mut p = [&nonce[..32], email.as_bytes(), &[0]].concat();
    p.extend_from_slice(&(addrs.len() as u32).to_be_bytes());
    addrs.iter().for_each(|a| p.extend_from_slice(a));
    p
}

/// Miranda's plaintext (SPEC §25): nonce1, e-mail without NUL, a raw 25-byte list.
fn miranda_plain(nonce: &[u8; 64], email: &str) -> Vec<u8> {
    [&nonce[..32], email.as_bytes(), &LIST_25].concat()
}

/// Connects, builds the response from the challenge and sends `login2` as raw bytes; returns the
/// answer (`LoginOk` or `Error`).
fn login_raw(
    s: &msim_server::Server,
    email: &str,
    clientver: u32,
    respond: impl FnOnce(&[u8; 64]) -> Vec<u8>,
) -> ServerMessage {
    let mut c = Client::connect(s.addr());
    let response = base64::engine::general_purpose::STANDARD.encode(respond(&c.nonce));
    // Base64 at the top level is not escaped (SPEC §3); these e-mails hold no `/` or `\`.
    let msg = format!(
        "\\login2\\196610\\username\\{email}\\response\\{response}\\clientver\\{clientver}{}",
        "\\reconn\\0\\status\\100\\id\\1\\final\\"
    );
    c.send_raw(msg.as_bytes());
    c.expect(|m| matches!(m, ServerMessage::LoginOk { .. } | ServerMessage::Error { .. }), WAIT)
}

fn ok(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::LoginOk { .. })
}

fn refused(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::Error { code: 260, fatal: true, .. })
}

#[test]
fn a_digsby_layout_login_is_accepted() {
    let s = server();
    // A 21-character e-mail, as in the capture: with four addresses Digsby's layout is exactly
    // the official client's 74 bytes (SPEC §25: 32 + 21 + 1 + 4 + 16).
    let email = "Digsby.21@example.com";
    s.add_account(email, "digsbypw", Some("digsby"), None).unwrap();
    let addrs = [[127, 0, 0, 1], [10, 0, 0, 64], [192, 168, 88, 1], [192, 168, 60, 1]];
    let answer = login_raw(&s, "digsby.21@EXAMPLE.com", 823, |n| {
        let plain = digsby_plain(n, "digsby.21@EXAMPLE.com", &addrs);
        assert_eq!(plain.len(), 74);
        seal(n, &digsby_cut("digsbypw"), &plain)
    });
    assert!(ok(&answer), "{answer:?}");
    // No address at all is a count of 0.
    let answer = login_raw(&s, email, 823, |n| seal(n, &digsby_cut("digsbypw"), &digsby_plain(n, email, &[])));
    assert!(ok(&answer), "{answer:?}");
}

#[test]
fn a_miranda_layout_login_is_accepted() {
    let s = server();
    let email = "miranda@example.com";
    s.add_account(email, "mirandapw", Some("miranda"), None).unwrap();
    let answer = login_raw(&s, email, 823, |n| seal(n, &miranda_cut("mirandapw"), &miranda_plain(n, email)));
    assert!(ok(&answer), "{answer:?}");
}

/// The layouts are free after the e-mail, but nonce1, the e-mail and the password still decide.
#[test]
fn any_layout_with_a_wrong_nonce1_email_or_password_is_refused() {
    let s = server();
    let email = "who@example.com";
    s.add_account(email, "rightpw", Some("who"), None).unwrap();
    s.add_account("other@example.com", "rightpw", Some("other"), None).unwrap();
    type Respond = Box<dyn Fn(&[u8; 64]) -> Vec<u8>>;
    let cases: [(&str, Respond); 4] = [
        ("wrong password", Box::new(|n| seal(n, &digsby_cut("wrongpw"), &digsby_plain(n, email, &[])))),
        (
            "wrong nonce1",
            Box::new(|n| {
                let mut other = *n;
                other[5] ^= 0x40;
                seal(n, &miranda_cut("rightpw"), &miranda_plain(&other, email))
            }),
        ),
        (
            "another e-mail inside",
            Box::new(|n| seal(n, &miranda_cut("rightpw"), &miranda_plain(n, "other@example.com"))),
        ),
        ("cut inside the e-mail", Box::new(|n| seal(n, &miranda_cut("rightpw"), &miranda_plain(n, email)[..40]))),
    ];
    for (what, respond) in cases {
        let answer = login_raw(&s, email, 823, respond);
        assert!(refused(&answer), "{what}: {answer:?}");
    }
}

/// SPEC §25: the cuts differ only for non-ASCII passwords. This one differs in all three (a 2-byte
/// and a 4-byte, 2-unit character up front), and each client logs in with its own cut and layout.
#[test]
fn each_clients_password_cut_logs_in() {
    let s = server();
    let email = "cuts@example.com";
    let pw = "Å😀BCDEFGHIJK";
    s.add_account(email, pw, Some("cuts"), None).unwrap();
    let forms = [pidgin_cut(pw), digsby_cut(pw), miranda_cut(pw)];
    assert_eq!(
        forms,
        [
            utf16le("å😀bcde".encode_utf16()),
            utf16le("å😀bcdefghi".encode_utf16()),
            utf16le("å😀bcdefgh".encode_utf16())
        ],
    );
    let answer = login_raw(&s, email, 697, |n| seal(n, &forms[0], &pidgin_plain(n, email)));
    assert!(ok(&answer), "Pidgin's cut: {answer:?}");
    let answer = login_raw(&s, email, 823, |n| seal(n, &forms[1], &digsby_plain(n, email, &[[127, 0, 0, 1]])));
    assert!(ok(&answer), "Digsby's cut: {answer:?}");
    let answer = login_raw(&s, email, 823, |n| seal(n, &forms[2], &miranda_plain(n, email)));
    assert!(ok(&answer), "Miranda's cut: {answer:?}");
    // A cut no client makes (11 characters) is still a wrong password.
    let eleven: String = pw.to_lowercase().chars().take(11).collect();
    let answer = login_raw(&s, email, 823, |n| seal(n, &utf16le(eleven.encode_utf16()), &pidgin_plain(n, email)));
    assert!(refused(&answer), "{answer:?}");
}

/// Where lower-casing rules differ (SPEC §25; README "Login"): a capital sigma that ends a word is
/// ς to GLib (Pidgin) and σ to per-character lower-casing; dotted capital I is "i" + U+0307 to full
/// Unicode lower-casing and "i" to per-character lower-casing. Both readings log in.
#[test]
fn both_readings_of_final_sigma_and_dotted_capital_i_log_in() {
    let s = server();
    // (password, the normalised forms different clients hash)
    let cases: [(&str, &str, [&str; 2]); 2] =
        [("sigma@example.com", "Σ1", ["ς1", "σ1"]), ("dotted@example.com", "\u{130}X", ["i\u{307}x", "ix"])];
    for (email, pw, forms) in cases {
        s.add_account(email, pw, None, None).unwrap();
        for form in forms {
            let answer = login_raw(&s, email, 697, |n| seal(n, &utf16le(form.encode_utf16()), &pidgin_plain(n, email)));
            assert!(ok(&answer), "{pw:?} as {form:?}: {answer:?}");
        }
        let answer = login_raw(&s, email, 697, |n| seal(n, &utf16le("x".encode_utf16()), &pidgin_plain(n, email)));
        assert!(refused(&answer), "{answer:?}");
    }
}
