//! login2 challenge/response (SPEC §6.2, §6.3, §24) on arbitrary nonces, e-mails, passwords and
//! responses.
//!
//! Input layout: `[email len][password len][email][password][nonce: 64 bytes][response…]`, short
//! inputs padded with zeros; e-mail and password are read as lossy UTF-8. The seed corpus puts the
//! known-good vectors of login-vectors.tsv in this layout, so mutations start from real responses.
//!
//! Invariants:
//! - `decode_nonce` never panics, and accepts only the canonical base64 of 64 bytes;
//! - `verify_response` never panics and accepts a response exactly when it is a real one: under
//!   the key of (nonce, stored hash) it decrypts to nonce1 ‖ the e-mail (ASCII case aside) ‖ NUL ‖
//!   0xFB padding ‖ L ‖ L bytes of IP list. The oracle is built from the public API alone:
//!   `compute_response_from_hash` with an all-zero IP list of the same length gives the keystream
//!   XOR a known plaintext, so response XOR that must be zero everywhere but the IP list and the
//!   case bit (0x20) of ASCII letters of the e-mail;
//! - `verify(compute(nonce, email, password))` is Ok, also with the e-mail in upper case, and a
//!   truncated or extended response, a flipped nonce byte, a different password hash or a longer
//!   e-mail are all refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msim::protocol::login::{
    compute_response, compute_response_from_hash, decode_nonce, encode_nonce, password_hash, verify_response, NONCE_LEN,
};

const HALF: usize = NONCE_LEN / 2;

/// Bytes of the response before the IP list: nonce1, e-mail, NUL, padding to 4, L (SPEC §6.3).
fn fixed_len(email: &str) -> usize {
    let head = HALF + email.len() + 1;
    head + (4 - head % 4) % 4 + 4
}

/// Would a correct verifier accept `response`? See the module docs.
fn is_real_response(nonce: &[u8; NONCE_LEN], email: &str, hash: &[u8; 20], response: &[u8]) -> bool {
    let fixed = fixed_len(email);
    if response.len() < fixed {
        return false;
    }
    let zero_ips = vec![0u8; response.len() - fixed];
    let reference = compute_response_from_hash(nonce, email, hash, &zero_ips);
    assert_eq!(reference.len(), response.len());
    let e = email.as_bytes();
    response[..fixed].iter().zip(&reference[..fixed]).enumerate().all(|(i, (r, k))| {
        let diff = r ^ k;
        let in_email = (HALF..HALF + e.len()).contains(&i);
        diff == 0 || (in_email && diff == 0x20 && e[i - HALF].is_ascii_alphabetic())
    })
}

fn check(nonce: &[u8; NONCE_LEN], email: &str, hash: &[u8; 20], response: &[u8], what: &str) -> bool {
    let got = verify_response(nonce, email, hash, response).is_ok();
    assert_eq!(
        got,
        is_real_response(nonce, email, hash, response),
        "{what}: verify_response disagrees with the oracle"
    );
    got
}

fuzz_target!(|data: &[u8]| {
    let mut input = data.to_vec();
    let e_len = usize::from(input.first().copied().unwrap_or(0));
    let p_len = usize::from(input.get(1).copied().unwrap_or(0));
    let min = 2 + e_len + p_len + NONCE_LEN;
    if input.len() < min {
        input.resize(min, 0);
    }
    let email = String::from_utf8_lossy(&input[2..2 + e_len]).into_owned();
    let password = String::from_utf8_lossy(&input[2 + e_len..2 + e_len + p_len]).into_owned();
    let nonce: [u8; NONCE_LEN] = input[2 + e_len + p_len..min].try_into().unwrap();
    let response = &input[min..];

    // The response bytes as an `nc` field.
    if let Ok(n) = decode_nonce(response) {
        assert_eq!(encode_nonce(&n).as_bytes(), response, "decode_nonce accepted a non-canonical nc");
    }
    assert_eq!(decode_nonce(encode_nonce(&nonce).as_bytes()), Ok(nonce));

    // Arbitrary response bytes.
    let hash = password_hash(&password);
    check(&nonce, &email, &hash, response, "arbitrary response");

    // A real response and its near misses.
    let real = compute_response(&nonce, &email, &password);
    assert_eq!(real.len(), fixed_len(&email));
    assert!(check(&nonce, &email, &hash, &real, "real response"), "real response refused");
    assert!(check(&nonce, &email.to_ascii_uppercase(), &hash, &real, "upper-case e-mail"));
    let mut longer = real.clone();
    longer.push(response.first().copied().unwrap_or(0));
    assert!(!check(&nonce, &email, &hash, &longer, "extended response"));
    let cut = response.get(1).map_or(0, |&b| usize::from(b) % real.len());
    assert!(!check(&nonce, &email, &hash, &real[..cut], "truncated response"));
    if let [at, x, ..] = *response {
        if x != 0 {
            let mut flipped = real.clone();
            flipped[usize::from(at) % real.len()] ^= x;
            check(&nonce, &email, &hash, &flipped, "flipped response byte");
            let mut other_nonce = nonce;
            other_nonce[usize::from(at) % NONCE_LEN] ^= x;
            let h = password_hash(&password);
            assert!(!check(&other_nonce, &email, &h, &real, "other nonce"), "accepted under another nonce");
        }
    }
    let other = format!("{password}x");
    let other_hash = password_hash(&other);
    let accepted = check(&nonce, &email, &other_hash, &real, "other password");
    assert_eq!(accepted, other_hash == hash, "another password's hash");
    assert!(!check(&nonce, &format!("{email}x"), &hash, &real, "longer e-mail"));
});
