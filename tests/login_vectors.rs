//! Every row of `tests/data/login-vectors.tsv` (responses computed by the reference
//! implementation, SPEC §6.3) must be reproduced byte for byte, and `verify_response` must accept it
//! and reject near misses.

use base64::Engine as _;
use msim::protocol::login::{
    compute_response, compute_response_b64, decode_nonce, password_hash, verify_response, LoginError,
};

const VECTORS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/login-vectors.tsv"));

struct Vector {
    line: usize,
    nonce_b64: &'static str,
    email: &'static str,
    password: &'static str,
    response_b64: &'static str,
}

fn vectors() -> Vec<Vector> {
    let rows: Vec<Vector> = VECTORS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.starts_with("nonce_b64\t") && !l.is_empty())
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "line {}: expected 4 TAB-separated fields", i + 1);
            Vector { line: i + 1, nonce_b64: f[0], email: f[1], password: f[2], response_b64: f[3] }
        })
        .collect();
    assert!(rows.len() >= 10, "login-vectors.tsv has only {} rows", rows.len());
    rows
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn every_vector_is_reproduced() {
    for v in vectors() {
        let nonce = decode_nonce(v.nonce_b64.as_bytes()).unwrap();
        assert_eq!(compute_response_b64(&nonce, v.email, v.password), v.response_b64, "line {}", v.line);
    }
}

#[test]
fn verify_accepts_every_vector() {
    for v in vectors() {
        let nonce = decode_nonce(v.nonce_b64.as_bytes()).unwrap();
        let hash = password_hash(v.password);
        assert_eq!(verify_response(&nonce, v.email, &hash, &b64(v.response_b64)), Ok(()), "line {}", v.line);
        // The server compares e-mails ASCII case-insensitively (SPEC §24).
        let upper = v.email.to_ascii_uppercase();
        assert_eq!(verify_response(&nonce, &upper, &hash, &b64(v.response_b64)), Ok(()), "line {}", v.line);
    }
}

#[test]
fn verify_rejects_near_misses() {
    for v in vectors() {
        let nonce = decode_nonce(v.nonce_b64.as_bytes()).unwrap();
        let hash = password_hash(v.password);
        let good = b64(v.response_b64);
        let wrong_password = password_hash(&format!("{}!", v.password.to_uppercase()));
        // Passwords longer than 10 bytes only matter up to byte 10, so "wrong" must differ early.
        let wrong_password = if v.password.len() >= 10 { password_hash("0") } else { wrong_password };
        let mut tampered_nonce = good.clone();
        tampered_nonce[0] ^= 1;
        let mut tampered_last = good.clone();
        *tampered_last.last_mut().unwrap() ^= 0x80;
        let cases: [(&str, &[u8; 20], &str, Vec<u8>); 6] = [
            ("wrong password", &wrong_password, v.email, good.clone()),
            ("wrong e-mail", &hash, "someone@else.example", good.clone()),
            ("tampered first byte", &hash, v.email, tampered_nonce),
            ("tampered last byte", &hash, v.email, tampered_last),
            ("truncated by one", &hash, v.email, good[..good.len() - 1].to_vec()),
            ("truncated to nonce1", &hash, v.email, good[..32].to_vec()),
        ];
        for (what, h, email, resp) in cases {
            let got = verify_response(&nonce, email, h, &resp);
            assert_eq!(got, Err(LoginError::BadResponse), "line {}: {what}", v.line);
        }
    }
}

#[test]
fn compute_agrees_with_b64_form() {
    let v = &vectors()[0];
    let nonce = decode_nonce(v.nonce_b64.as_bytes()).unwrap();
    assert_eq!(compute_response(&nonce, v.email, v.password), b64(v.response_b64));
}
