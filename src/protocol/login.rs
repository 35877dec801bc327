//! TEMPORARY stand-in for the login crypto (SPEC §6.3), written on the `server` branch so the
//! server can be tested before `main` gets the real module. On merge, take main's version.

use sha1::{Digest, Sha1};

pub const NONCE_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("bad nonce")]
    BadNonce,
    #[error("login response does not verify")]
    BadResponse,
}

pub fn decode_nonce(nc: &[u8]) -> Result<[u8; NONCE_LEN], LoginError> {
    use base64::Engine as _;
    let v = base64::engine::general_purpose::STANDARD.decode(nc).map_err(|_| LoginError::BadNonce)?;
    v.try_into().map_err(|_| LoginError::BadNonce)
}

/// SHA1 of the normalised UTF-16LE password (SPEC §6.3 steps 1–5, §24).
pub fn password_hash(password: &str) -> [u8; 20] {
    let bytes = password.as_bytes();
    let cut = &bytes[..bytes.len().min(10)];
    let valid = match std::str::from_utf8(cut) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&cut[..e.valid_up_to()]).expect("prefix is valid"),
    };
    let lower = valid.to_lowercase();
    let utf16: Vec<u8> = lower.encode_utf16().flat_map(u16::to_le_bytes).collect();
    Sha1::digest(&utf16).into()
}

fn rc4_key(nonce: &[u8; NONCE_LEN], hash: &[u8; 20]) -> [u8; 16] {
    let mut h = Sha1::new();
    h.update(hash);
    h.update(&nonce[32..]);
    let k: [u8; 20] = h.finalize().into();
    k[..16].try_into().expect("16 bytes")
}

fn rc4_apply(key: &[u8; 16], data: &mut [u8]) {
    use rc4::{KeyInit, Rc4, StreamCipher};
    let mut c = Rc4::new(key.into());
    c.apply_keystream(data);
}

pub fn compute_response(nonce: &[u8; NONCE_LEN], email: &str, password: &str) -> Vec<u8> {
    let mut plain = nonce[..32].to_vec();
    plain.extend_from_slice(email.as_bytes());
    plain.push(0);
    while plain.len() % 4 != 0 {
        plain.push(0xFB);
    }
    plain.extend_from_slice(&0u32.to_be_bytes());
    rc4_apply(&rc4_key(nonce, &password_hash(password)), &mut plain);
    plain
}

pub fn verify_response(nonce: &[u8; NONCE_LEN], email: &str, stored_hash: &[u8; 20], response: &[u8]) -> Result<(), LoginError> {
    let mut plain = response.to_vec();
    rc4_apply(&rc4_key(nonce, stored_hash), &mut plain);
    let e = email.as_bytes();
    if plain.len() < 32 + e.len() + 1 || plain[..32] != nonce[..32] {
        return Err(LoginError::BadResponse);
    }
    let got = &plain[32..32 + e.len()];
    if !got.eq_ignore_ascii_case(e) || plain[32 + e.len()] != 0 {
        return Err(LoginError::BadResponse);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        use base64::Engine as _;
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/protocol/login-vectors.tsv"));
        let Ok(text) = text else { return };
        for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            let nonce = decode_nonce(f[0].as_bytes()).unwrap();
            let want = base64::engine::general_purpose::STANDARD.decode(f[3]).unwrap();
            assert_eq!(compute_response(&nonce, f[1], f[2]), want, "{line}");
            assert!(verify_response(&nonce, f[1], &password_hash(f[2]), &want).is_ok());
        }
    }
}
