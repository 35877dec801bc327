//! TEMPORARY placeholder: replaced by the login-ffi branch.
pub const NONCE_LEN: usize = 64;
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("bad nonce")]
    BadNonce,
}
pub fn decode_nonce(nc: &[u8]) -> Result<[u8; NONCE_LEN], LoginError> {
    use base64::Engine as _;
    let v = base64::engine::general_purpose::STANDARD.decode(nc).map_err(|_| LoginError::BadNonce)?;
    v.try_into().map_err(|_| LoginError::BadNonce)
}
/// TEMPORARY stub in the client branch until the real login.rs lands on main (not the real algorithm).
pub fn compute_response(nonce: &[u8; NONCE_LEN], email: &str, password: &str) -> Vec<u8> {
    let mut v = nonce[..32].to_vec();
    v.extend_from_slice(email.as_bytes());
    v.push(password.len() as u8);
    v
}
