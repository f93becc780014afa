//! End-to-end encryption of everything sync stores remotely. A passphrase becomes a 256-bit key
//! with Argon2id (the salt and costs are in the remote's `format.json`, so every device derives
//! the same key); each file is sealed with XChaCha20-Poly1305 under a fresh random 192-bit
//! nonce, with the file's role as associated data so a head cannot pass for a segment. The
//! server sees ciphertext, sizes and random names only.

use crate::engine::json::Json;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::engine::error::{Error, Result};

/// What a sealed file starts with: the format, then the nonce.
const MAGIC: &[u8; 4] = b"NXS1";
const NONCE: usize = 24;

/// Argon2id costs, stored in plain text beside the data (they are not secret).
#[derive(Debug, Clone, PartialEq, Json)]
pub struct KdfParams {
    pub alg: String,
    /// Memory in KiB.
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
    /// Base64 of 16 random bytes.
    pub salt: String,
}

impl KdfParams {
    /// New costs for a new remote: OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane).
    pub fn fresh() -> Result<KdfParams> {
        use base64::Engine as _;
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|e| Error::Invalid(format!("No random numbers: {e}")))?;
        Ok(KdfParams {
            alg: "argon2id".into(),
            m_kib: 19_456,
            t: 2,
            p: 1,
            salt: base64::engine::general_purpose::STANDARD.encode(salt),
        })
    }
}

/// The key every device of one sync remote shares.
#[derive(Clone)]
pub struct SyncKey([u8; 32]);

impl std::fmt::Debug for SyncKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncKey(…)")
    }
}

impl SyncKey {
    pub fn derive(passphrase: &str, kdf: &KdfParams) -> Result<SyncKey> {
        use base64::Engine as _;
        if kdf.alg != "argon2id" {
            return Err(Error::Invalid(format!(
                "The sync folder uses the key derivation '{}', which this version does not know. Update the app.",
                kdf.alg
            )));
        }
        let salt = base64::engine::general_purpose::STANDARD
            .decode(&kdf.salt)
            .map_err(|_| bad_format("its salt is not base64"))?;
        let params = Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32))
            .map_err(|e| bad_format(&format!("its key costs are not valid ({e})")))?;
        let mut key = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &salt, &mut key)
            .map_err(|e| bad_format(&format!("the key could not be derived ({e})")))?;
        Ok(SyncKey(key))
    }

    /// `MAGIC ‖ nonce ‖ ciphertext+tag`.
    pub fn seal(&self, role: &str, plain: &[u8]) -> Result<Vec<u8>> {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce)
            .map_err(|e| Error::Invalid(format!("No random numbers: {e}")))?;
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: role.as_bytes(),
                },
            )
            .map_err(|_| Error::Invalid("Encrypting for sync failed.".into()))?;
        let mut out = Vec::with_capacity(4 + NONCE + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// `None` when the file was not sealed with this key for this role (a wrong passphrase,
    /// or a damaged or swapped file).
    pub fn open(&self, role: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 4 + NONCE || &sealed[..4] != MAGIC {
            return None;
        }
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        cipher
            .decrypt(
                XNonce::from_slice(&sealed[4..4 + NONCE]),
                Payload {
                    msg: &sealed[4 + NONCE..],
                    aad: role.as_bytes(),
                },
            )
            .ok()
    }
}

fn bad_format(detail: &str) -> Error {
    Error::Invalid(format!(
        "The sync folder's format.json cannot be used: {detail}. Check that the URL points at an OpenCode Nexus sync folder."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> KdfParams {
        KdfParams {
            m_kib: 64,
            t: 1,
            ..KdfParams::fresh().unwrap()
        }
    }

    #[test]
    fn seals_and_opens_and_refuses_other_keys_and_roles() {
        let kdf = quick();
        let key = SyncKey::derive("correct horse", &kdf).unwrap();
        let sealed = key.seal("segment", b"hello aardvark").unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"aardvark"));
        assert_eq!(key.open("segment", &sealed).unwrap(), b"hello aardvark");
        assert!(key.open("head", &sealed).is_none());
        let wrong = SyncKey::derive("wrong horse", &kdf).unwrap();
        assert!(wrong.open("segment", &sealed).is_none());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(key.open("segment", &flipped).is_none());
        // Two seals of the same text differ (fresh nonces).
        assert_ne!(
            key.seal("segment", b"x").unwrap(),
            key.seal("segment", b"x").unwrap()
        );
    }
}
