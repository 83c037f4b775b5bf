//! Store secrets at rest: AES-256-GCM, a fresh nonce per seal, the key's id stored beside
//! the ciphertext so keys can rotate.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret was sealed with key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("the secret does not open with its key (tampered or wrong key)")]
    Corrupt,
}

/// Seals with the current key; opens with the current or the previous key.
#[derive(Clone)]
pub struct Cipher {
    current: (String, Aes256Gcm),
    previous: Option<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("key_id", &self.current.0)
            .finish_non_exhaustive()
    }
}

/// A key's id: the start of its SHA-256, so it names the key without revealing it.
fn key_id(key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(key)[..4])
}

impl Cipher {
    pub fn new(current: &[u8; 32], previous: Option<&[u8; 32]>) -> Self {
        let entry = |key: &[u8; 32]| {
            (
                key_id(key),
                Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
            )
        };
        Self {
            current: entry(current),
            previous: previous.map(entry),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.current.0
    }

    /// `nonce || ciphertext` under the current key.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption into memory cannot fail for inputs this small.
        let sealed = self
            .current
            .1
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, key_id: &str, sealed: &[u8]) -> Result<String, SecretError> {
        let cipher = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|(id, _)| id == key_id)
            .map(|(_, cipher)| cipher)
            .ok_or_else(|| SecretError::UnknownKey(key_id.to_owned()))?;
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Corrupt);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| SecretError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| SecretError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_and_rotate() {
        let old = Cipher::new(&[1; 32], None);
        let sealed = old.seal("shpat_secret");
        assert!(
            !sealed.windows(6).any(|w| w == b"shpat_"),
            "ciphertext hides the token"
        );
        assert_ne!(old.seal("shpat_secret"), sealed, "fresh nonce every time");
        assert_eq!(old.open(old.key_id(), &sealed).unwrap(), "shpat_secret");

        let rotated = Cipher::new(&[2; 32], Some(&[1; 32]));
        assert_ne!(rotated.key_id(), old.key_id());
        assert_eq!(rotated.open(old.key_id(), &sealed).unwrap(), "shpat_secret");
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            old.open(old.key_id(), &tampered),
            Err(SecretError::Corrupt)
        ));
        assert!(matches!(
            Cipher::new(&[3; 32], None).open(old.key_id(), &sealed),
            Err(SecretError::UnknownKey(_))
        ));
    }
}
