//! The `login2` challenge/response (SPEC §6.2, §6.3, §24): decoding the server's nonce, computing the
//! client's response, and verifying a response on the server side.
//!
//! Sans-IO and stateless: bytes in, bytes out. This module must never see a socket or store a
//! password: a server keeps only [`password_hash`] (h1) and verifies with [`verify_response`].
//!
//! Secrets: the password, its normalised form, h1 and the RC4 key are all password-equivalent (h1
//! alone is enough to log in), so every buffer this module allocates for them is wiped on drop
//! ([`zeroize`]) and the RC4 state wipes itself (`rc4`'s `zeroize` feature). The stack these
//! computations ran on is overwritten before each public function returns (`on_wiped_stack`):
//! SHA-1's block buffer holds the normalised password (or h1) there, and optimised code later copies
//! stale stack bytes into the heap. This is best effort: `str::to_lowercase` may reallocate its
//! output while lower-casing one of the few characters that grow (e.g. 'İ'), and values returned by
//! value (h1) are copied through the callers' frames. Buffers *returned* to the caller (normalised
//! password, hash) are the caller's to wipe.

use base64::Engine as _;
use rc4::{consts::U16, KeyInit, Rc4, StreamCipher};
use sha1::{Digest, Sha1};
use zeroize::{Zeroize, Zeroizing};

/// Decoded length of the challenge `nc` (SPEC §6.2): nonce1 (32 bytes) ‖ nonce2 (32 bytes).
pub const NONCE_LEN: usize = 64;
/// Length of each nonce half (SPEC §6.2).
const HALF: usize = NONCE_LEN / 2;
/// The `login2` value: the authentication algorithm 0x00030002 (SPEC §6.4).
pub const LOGIN2_ALGORITHM: u32 = 196610;
/// Only the first 10 bytes of the UTF-8 password take part in the login (SPEC §6.3 step 2).
pub const PASSWORD_SIGNIFICANT_BYTES: usize = 10;
/// Only the first 16 bytes of SHA1(h1 ‖ nonce2) key the RC4 cipher (SPEC §6.3 step 7).
const RC4_KEY_LEN: usize = 16;
/// The byte padding the e-mail's terminating NUL to a multiple of 4 (SPEC §6.3 step 8).
const PAD: u8 = 0xFB;

/// Why a challenge or a response was rejected.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// `nc` is not valid base64.
    #[error("challenge nonce is not valid base64")]
    BadNonceBase64,
    /// `nc` decodes to the given number of bytes instead of [`NONCE_LEN`] (SPEC §6.2, §24).
    #[error("challenge nonce decodes to {0} bytes, expected 64")]
    BadNonceLength(usize),
    /// The `response` field is not valid base64.
    #[error("login response is not valid base64")]
    BadResponseBase64,
    /// The response does not decrypt to nonce1 ‖ e-mail ‖ padding ‖ IP list under the stored hash:
    /// wrong password, wrong e-mail, wrong nonce, truncated or tampered. Deliberately one variant:
    /// a server must not tell a client which part was wrong.
    #[error("login response does not match (wrong password, e-mail or challenge)")]
    BadResponse,
}

/// How much stack [`on_wiped_stack`] overwrites below its caller's frame. The computations it wraps
/// (SHA-1, RC4 key setup, lower-casing ten bytes) use well under 2 KiB. Every byte wiped is a
/// stack page touched on each session's IO thread (resident for the session's life: 16 KiB here
/// grew a client session by 12 KiB), so the margin stays small.
const STACK_WIPE_BYTES: usize = 4 * 1024;

/// Runs `f` in a frame of its own, then overwrites the stack that frame and its callees used.
///
/// Why: the SHA-1 state — its 64-byte block buffer holds the normalised password (SPEC §6.3 step 5)
/// or h1 (step 6) — and the RC4 state live in stack frames that are dead, not wiped, once `f`
/// returns. In release builds the next large value built there (an enum with a small variant, moved
/// whole into a `VecDeque` or a channel) carries those stale bytes into the heap: a session's first
/// queued event held the UTF-16LE password for as long as the session lived (issue 10 item 7,
/// `tests/secrets.rs`). Wiping the dead frames right away leaves nothing to carry.
#[inline(never)]
pub(crate) fn on_wiped_stack<R>(f: impl FnOnce() -> R) -> R {
    let r = in_own_frame(f);
    wipe_stack();
    r
}

/// Calls `f` below this point of the stack, so that [`wipe_stack`], called next from the same
/// frame, covers every frame `f` used.
#[inline(never)]
fn in_own_frame<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[inline(never)]
fn wipe_stack() {
    let mut scratch = [0u8; STACK_WIPE_BYTES];
    scratch.zeroize(); // volatile writes: not removed as dead stores
    std::hint::black_box(&scratch);
}

/// Decodes `nc` and checks it is exactly [`NONCE_LEN`] bytes (SPEC §6.2, §24; CVE-2010-3711 was an
/// unchecked decode).
pub fn decode_nonce(nc_b64: &[u8]) -> Result<[u8; NONCE_LEN], LoginError> {
    let raw = base64::engine::general_purpose::STANDARD.decode(nc_b64).map_err(|_| LoginError::BadNonceBase64)?;
    <[u8; NONCE_LEN]>::try_from(raw.as_slice()).map_err(|_| LoginError::BadNonceLength(raw.len()))
}

/// Encodes a nonce as the `nc` field carries it (server side).
pub fn encode_nonce(nonce: &[u8; NONCE_LEN]) -> String {
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// Steps 1–4 of SPEC §6.3 with the §24 normalisation: the first 10 bytes of the UTF-8 password, an
/// incomplete trailing UTF-8 sequence dropped, Unicode lower-case (final-sigma rule included, as
/// `str::to_lowercase` does it), encoded UTF-16LE without BOM or terminator.
///
/// Dropping the split character is where msim differs from Pidgin's *code* but matches its
/// observable result for the characters kept (Pidgin sends an empty response instead, §6.3 step 4).
pub fn normalize_password(password: &str) -> Zeroizing<Vec<u8>> {
    on_wiped_stack(|| normalize(password))
}

fn normalize(password: &str) -> Zeroizing<Vec<u8>> {
    let bytes = password.as_bytes();
    let cut = &bytes[..bytes.len().min(PASSWORD_SIGNIFICANT_BYTES)];
    // `password` is valid UTF-8, so the only possible error is a sequence cut short at the end.
    let valid = match std::str::from_utf8(cut) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&cut[..e.valid_up_to()]).expect("prefix up to valid_up_to is UTF-8"),
    };
    let lower = Zeroizing::new(valid.to_lowercase());
    // One UTF-8 byte never becomes more than two UTF-16 bytes, so this never reallocates (a
    // reallocation would leave an unwiped copy behind).
    let mut out = Zeroizing::new(Vec::with_capacity(lower.len() * 2));
    for unit in lower.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// h1 = SHA1(normalised password): what a server stores instead of the password (SPEC §6.3 step 5).
/// It is password-equivalent for MSIM logins; store and wipe it like a password.
pub fn password_hash(password: &str) -> [u8; 20] {
    on_wiped_stack(|| {
        let normalized = normalize(password);
        Sha1::digest(normalized.as_slice()).into()
    })
}

/// The RC4 cipher for one login: key = SHA1(h1 ‖ nonce2)[0..16] (SPEC §6.3 steps 6–7).
fn cipher(nonce: &[u8; NONCE_LEN], hash: &[u8; 20]) -> Rc4<U16> {
    let mut hasher = Sha1::new();
    hasher.update(hash);
    hasher.update(&nonce[HALF..]);
    let mut k: Zeroizing<[u8; 20]> = Zeroizing::new(hasher.finalize().into());
    let cipher = Rc4::<U16>::new(k[..RC4_KEY_LEN].into());
    k.zeroize();
    cipher
}

/// Number of 0xFB bytes after nonce1 ‖ e-mail ‖ NUL of `len` bytes (SPEC §6.3 step 8).
fn padding_after(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Client side: the raw `response` bytes for `password` (SPEC §6.3), with an empty IP list (L = 0,
/// as Pidgin sends, §24). The caller base64-encodes them, or uses [`compute_response_b64`].
pub fn compute_response(nonce: &[u8; NONCE_LEN], email: &str, password: &str) -> Vec<u8> {
    // h1 is returned by value through this frame: wiped with it.
    on_wiped_stack(|| {
        let hash = Zeroizing::new(password_hash(password));
        encrypt(nonce, email, &hash, &[])
    })
}

/// [`compute_response`], base64-encoded as the `response` field carries it (SPEC §6.3 step 10).
pub fn compute_response_b64(nonce: &[u8; NONCE_LEN], email: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(compute_response(nonce, email, password))
}

/// Steps 6–9 of SPEC §6.3 from a stored hash h1, with an explicit IP list (its length is written as
/// the 4-byte big-endian L). The e-mail goes in as raw bytes, unescaped, exactly as given.
///
/// # Panics
/// If `ip_list` is longer than `u32::MAX` bytes.
pub fn compute_response_from_hash(nonce: &[u8; NONCE_LEN], email: &str, hash: &[u8; 20], ip_list: &[u8]) -> Vec<u8> {
    on_wiped_stack(|| encrypt(nonce, email, hash, ip_list))
}

fn encrypt(nonce: &[u8; NONCE_LEN], email: &str, hash: &[u8; 20], ip_list: &[u8]) -> Vec<u8> {
    let ip_len = u32::try_from(ip_list.len()).expect("IP list length fits in 32 bits");
    let head = HALF + email.len() + 1;
    let pad = padding_after(head);
    let mut plain = Vec::with_capacity(head + pad + 4 + ip_list.len());
    plain.extend_from_slice(&nonce[..HALF]);
    plain.extend_from_slice(email.as_bytes());
    plain.push(0);
    plain.resize(head + pad, PAD);
    plain.extend_from_slice(&ip_len.to_be_bytes());
    plain.extend_from_slice(ip_list);
    cipher(nonce, hash).apply_keystream(&mut plain);
    plain
}

/// Server side (SPEC §24): decrypts `response` with the key from `stored_hash` and nonce2, then checks
/// nonce1, the e-mail (ASCII case-insensitive) followed by 0x00 and the 0xFB padding, then a 4-byte
/// big-endian IP-list length that exactly fills the rest (any IP list is accepted). Never needs the
/// plaintext password.
pub fn verify_response(
    nonce: &[u8; NONCE_LEN],
    email: &str,
    stored_hash: &[u8; 20],
    response: &[u8],
) -> Result<(), LoginError> {
    on_wiped_stack(|| check_response(nonce, email, stored_hash, response))
}

fn check_response(
    nonce: &[u8; NONCE_LEN],
    email: &str,
    stored_hash: &[u8; 20],
    response: &[u8],
) -> Result<(), LoginError> {
    let head = HALF + email.len() + 1;
    let pad = padding_after(head);
    let fixed = head + pad + 4;
    if response.len() < fixed {
        return Err(LoginError::BadResponse);
    }
    let mut plain = response.to_vec();
    cipher(nonce, stored_hash).apply_keystream(&mut plain);

    // Every check runs and is combined, so timing says little about which part failed.
    let mut ok = constant_time_eq(&plain[..HALF], &nonce[..HALF]);
    ok &= plain[HALF..HALF + email.len()].eq_ignore_ascii_case(email.as_bytes());
    ok &= plain[head - 1] == 0;
    ok &= plain[head..head + pad].iter().all(|&b| b == PAD);
    let ip_len = u32::from_be_bytes(plain[head + pad..fixed].try_into().expect("4 bytes"));
    ok &= usize::try_from(ip_len).is_ok_and(|l| l == plain.len() - fixed);
    if ok {
        Ok(())
    } else {
        Err(LoginError::BadResponse)
    }
}

/// Server side, for every client's layout (SPEC §25): Pidgin's (§6.3: NUL, 0xFB padding, a
/// length and the list), Digsby's (NUL, a 4-byte big-endian *count* of IPv4 addresses and 4 bytes
/// each, no padding) and Miranda's (no NUL, then a raw 25-byte list). Decrypts with the key from
/// `stored_hash` and nonce2 and checks only that the plaintext starts with nonce1 and the e-mail
/// (ASCII case-insensitive); whatever follows the e-mail is not looked at. That is all that proves
/// the password: nonce1 is fresh and 32 bytes long, and only a holder of h1 can make it decrypt.
pub fn verify_response_any_layout(
    nonce: &[u8; NONCE_LEN],
    email: &str,
    stored_hash: &[u8; 20],
    response: &[u8],
) -> Result<(), LoginError> {
    on_wiped_stack(|| check_prefix(nonce, email, stored_hash, response))
}

fn check_prefix(
    nonce: &[u8; NONCE_LEN],
    email: &str,
    stored_hash: &[u8; 20],
    response: &[u8],
) -> Result<(), LoginError> {
    let head = HALF + email.len();
    if response.len() < head {
        return Err(LoginError::BadResponse);
    }
    // Only the prefix is decrypted: RC4 is a stream cipher, so its first bytes need no others.
    let mut plain = response[..head].to_vec();
    cipher(nonce, stored_hash).apply_keystream(&mut plain);
    let mut ok = constant_time_eq(&plain[..HALF], &nonce[..HALF]);
    ok &= plain[HALF..].eq_ignore_ascii_case(email.as_bytes());
    if ok {
        Ok(())
    } else {
        Err(LoginError::BadResponse)
    }
}

/// [`verify_response`] on the base64 `response` field as received.
pub fn verify_response_b64(
    nonce: &[u8; NONCE_LEN],
    email: &str,
    stored_hash: &[u8; 20],
    response_b64: &[u8],
) -> Result<(), LoginError> {
    let response =
        base64::engine::general_purpose::STANDARD.decode(response_b64).map_err(|_| LoginError::BadResponseBase64)?;
    verify_response(nonce, email, stored_hash, &response)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn normalisation_table() {
        // (password, the string whose UTF-16LE is expected)
        let cases = [
            ("", ""),
            ("password", "password"),
            ("PassWord", "password"),
            ("abcdefghij", "abcdefghij"),
            ("abcdefghijXYZ", "abcdefghij"),
            // 'é' is 2 bytes: 9 ASCII + 'é' straddles byte 10, so it is dropped whole.
            ("123456789é", "123456789"),
            ("12345678é", "12345678é"),
            // '€' is 3 bytes: bytes 9..12, cut after its first two.
            ("12345678€", "12345678"),
            // 4-byte emoji straddling the cut.
            ("1234567😀", "1234567"),
            ("123456😀", "123456😀"),
            ("PÄSSWÖRD", "pässwörd"),
            // 'ß' has no single-char lower-case change; upper 'ẞ' (3 bytes) lowers to 'ß'.
            ("ß", "ß"),
            ("ẞA", "ßa"),
            // Final sigma: 'Σ' at the end of a word becomes 'ς', elsewhere 'σ'.
            ("ΟΔΟΣ", "\u{3bf}\u{3b4}\u{3bf}\u{3c2}"),
            ("ΣΑ", "\u{3c3}\u{3b1}"),
            // The cut decides what "final" means: 'ΑΣΑ…' cut after 'Σ' (bytes 9..10) makes it final.
            ("abcdeΑΣΑ", "abcde\u{3b1}\u{3c2}"),
        ];
        for (pw, expect) in cases {
            assert_eq!(*normalize_password(pw), utf16le(expect), "password {pw:?}");
        }
    }

    #[test]
    fn empty_password_hash_is_sha1_of_nothing() {
        assert_eq!(password_hash(""), <[u8; 20]>::from(Sha1::digest(b"")));
    }

    #[test]
    fn decode_nonce_checks_base64_and_length() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let cases: [(Vec<u8>, Result<(), LoginError>); 5] = [
            (b64.encode([7u8; 64]).into_bytes(), Ok(())),
            (b64.encode([7u8; 63]).into_bytes(), Err(LoginError::BadNonceLength(63))),
            (b64.encode([7u8; 65]).into_bytes(), Err(LoginError::BadNonceLength(65))),
            (b"".to_vec(), Err(LoginError::BadNonceLength(0))),
            (b"not*base64!".to_vec(), Err(LoginError::BadNonceBase64)),
        ];
        for (input, expect) in cases {
            assert_eq!(decode_nonce(&input).map(|n| assert_eq!(n, [7u8; 64])), expect);
        }
    }

    #[test]
    fn response_length_follows_spec_example() {
        // SPEC §6.3: a 21-char e-mail gives a 60-byte response in Pidgin's default form.
        let email = "a".repeat(21);
        assert_eq!(compute_response(&[0; 64], &email, "pw").len(), 60);
    }

    #[test]
    fn verify_accepts_any_ip_list_and_any_email_case() {
        let nonce = [0x42; 64];
        let hash = password_hash("secret");
        let ips = [0, 0, 0, 0, 5, 127, 0, 0, 1, 0, 0, 0, 0, 10, 0, 0, 64, 192, 168, 88, 1, 192, 168, 60, 1];
        let r = compute_response_from_hash(&nonce, "Me@Example.com", &hash, &ips);
        assert_eq!(verify_response(&nonce, "me@example.com", &hash, &r), Ok(()));
    }

    #[test]
    fn verify_rejects_bad_padding_and_ip_length() {
        let nonce = [0x42; 64];
        let hash = password_hash("secret");
        // Decrypt, corrupt one field of the plaintext, re-encrypt: RC4 is its own inverse.
        let plain_of = |r: &[u8]| {
            let mut p = r.to_vec();
            cipher(&nonce, &hash).apply_keystream(&mut p);
            p
        };
        let good = compute_response(&nonce, "ab@c.de", "secret"); // 32+7+1 = 40: no padding
        let good_padded = compute_response(&nonce, "a@b.c", "secret"); // 32+5+1 = 38: 2 × 0xFB
                                                                       // (response, e-mail, plaintext offset, new byte): a padding byte, the NUL, the low byte of L.
        let cases = [(&good_padded, "a@b.c", 38, 0xFA), (&good, "ab@c.de", 39, 1), (&good, "ab@c.de", 43, 1)];
        for (base, email, at, byte) in cases {
            let mut p = plain_of(base);
            p[at] = byte;
            cipher(&nonce, &hash).apply_keystream(&mut p);
            assert_eq!(verify_response(&nonce, email, &hash, &p), Err(LoginError::BadResponse), "byte {at}");
        }
        // Trailing garbage beyond L.
        let mut long = good.clone();
        long.push(0);
        assert_eq!(verify_response(&nonce, "ab@c.de", &hash, &long), Err(LoginError::BadResponse));
    }

    /// SPEC §25: Digsby's layout (NUL, a count of IPv4 addresses, 4 bytes each, no padding) and
    /// Miranda's (no NUL, a raw 25-byte list) pass the tolerant check and fail the strict one;
    /// Pidgin's passes both. Nonce1, the e-mail and the key are still checked.
    #[test]
    fn any_layout_checks_nonce1_and_the_email_prefix_only() {
        let nonce: [u8; 64] = std::array::from_fn(|i| i as u8 * 3);
        let hash = password_hash("secret");
        let email = "Me@Example.com";
        let seal = |plain: &[u8], hash: &[u8; 20]| {
            let mut c = plain.to_vec();
            cipher(&nonce, hash).apply_keystream(&mut c);
            c
        };
        let head = |email: &str, nonce1: &[u8]| [nonce1, email.as_bytes()].concat();
        let digsby = [head(email, &nonce[..32]), vec![0, 0, 0, 0, 2, 127, 0, 0, 1, 192, 168, 1, 2]].concat();
        let miranda_list = [0, 0, 0, 0, 5, 127, 0, 0, 1, 0, 0, 0, 0, 10, 0, 0, 64, 192, 168, 88, 1, 192, 168, 60, 1];
        let miranda = [head(email, &nonce[..32]), miranda_list.to_vec()].concat();
        for (name, plain) in [("digsby", &digsby), ("miranda", &miranda)] {
            let r = seal(plain, &hash);
            assert_eq!(verify_response_any_layout(&nonce, "me@example.com", &hash, &r), Ok(()), "{name}");
            assert_eq!(verify_response(&nonce, email, &hash, &r), Err(LoginError::BadResponse), "{name} strict");
            // Nothing after the e-mail is needed, either.
            let bare = seal(&head(email, &nonce[..32]), &hash);
            assert_eq!(verify_response_any_layout(&nonce, email, &hash, &bare), Ok(()));
        }
        let pidgin = compute_response(&nonce, email, "secret");
        assert_eq!(verify_response_any_layout(&nonce, email, &hash, &pidgin), Ok(()));
        // Refused: another key, another nonce1, another e-mail (or a longer one), a cut-off e-mail.
        let other = password_hash("Secret!");
        let mut wrong_nonce = nonce;
        wrong_nonce[0] ^= 1;
        let refused: [(&str, Vec<u8>, &str); 5] = [
            ("key", seal(&digsby, &other), email),
            ("nonce1", seal(&[head(email, &wrong_nonce[..32]), vec![0]].concat(), &hash), email),
            ("e-mail", seal(&digsby, &hash), "you@example.com"),
            ("longer e-mail", seal(&digsby, &hash), "me@example.comx"),
            ("truncated", seal(&digsby[..40], &hash), email),
        ];
        for (what, r, email) in refused {
            assert_eq!(verify_response_any_layout(&nonce, email, &hash, &r), Err(LoginError::BadResponse), "{what}");
        }
    }

    #[test]
    fn verify_b64_rejects_bad_base64() {
        assert_eq!(
            verify_response_b64(&[0; 64], "a@b.c", &password_hash("x"), b"!!"),
            Err(LoginError::BadResponseBase64)
        );
    }

    proptest! {
        #[test]
        fn verify_accepts_compute(
            nonce in proptest::array::uniform32(any::<u8>()),
            email in ".{0,80}",
            password in ".{0,24}",
        ) {
            let mut n = [0u8; NONCE_LEN];
            n[..32].copy_from_slice(&nonce);
            n[32..].copy_from_slice(&nonce.map(|b| b.wrapping_mul(31)));
            let r = compute_response(&n, &email, &password);
            prop_assert_eq!(verify_response(&n, &email, &password_hash(&password), &r), Ok(()));
        }
    }
}
