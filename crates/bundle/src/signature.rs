//! Signatures over `manifest.json`: Ed25519 with a local PKCS#8 key file (`cmk-evidence keygen`), verifiable by
//! `openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in manifest.json -sigfile manifest.sig`, and the
//! record of who signed (`manifest.sig.json`: algorithm, key id, public key). Key Vault signatures (ES256, RS256,
//! PS256) are made by the caller through Azure and checked here too.

use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::manifest::{MANIFEST_FILE, sha256_hex};

/// Value of `format` in `manifest.sig.json`.
pub const SIGNATURE_FORMAT: &str = "cmk-evidence-signature";
/// Algorithm name of local signatures.
pub const ED25519: &str = "Ed25519";
/// Algorithms a Key Vault or Managed HSM key may sign with.
pub const KEY_VAULT_ALGORITHMS: [&str; 3] = ["ES256", "RS256", "PS256"];

/// `manifest.sig.json`: how `manifest.sig` was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureInfo {
    /// Always [`SIGNATURE_FORMAT`].
    pub format: String,
    /// `Ed25519`, `ES256`, `RS256` or `PS256`.
    pub algorithm: String,
    /// `ed25519:<hex>` for local keys (SHA-256 of the public key's SPKI DER, 32 hex digits), or the versioned
    /// Key Vault key id that signed.
    pub key_id: String,
    /// The signer's public key, SPKI PEM.
    pub public_key_pem: String,
    /// The signed file, `manifest.json`.
    pub signed_file: String,
    /// SHA-256 of the signed file.
    pub signed_sha256: String,
}

/// A signature over a manifest, ready to be written beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestSignature {
    /// What goes into `manifest.sig.json`.
    pub info: SignatureInfo,
    /// What goes into `manifest.sig`: the raw signature bytes.
    pub bytes: Vec<u8>,
}

impl ManifestSignature {
    /// Wraps a signature made elsewhere (a Key Vault `sign` call) over `manifest`.
    pub fn external(algorithm: &str, key_id: &str, public_key_pem: &str, manifest: &[u8], bytes: Vec<u8>) -> Self {
        Self {
            info: SignatureInfo {
                format: SIGNATURE_FORMAT.into(),
                algorithm: algorithm.into(),
                key_id: key_id.into(),
                public_key_pem: public_key_pem.into(),
                signed_file: MANIFEST_FILE.into(),
                signed_sha256: sha256_hex(manifest),
            },
            bytes,
        }
    }
}

/// A local Ed25519 signing key.
#[derive(Debug)]
pub struct LocalSigningKey {
    key: SigningKey,
}

fn key_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Key { path: path.to_path_buf(), reason: reason.to_string() }
}

/// Key id of an Ed25519 public key: `ed25519:` and the first 32 hex digits of SHA-256 of its SPKI DER.
fn ed25519_key_id(key: &VerifyingKey) -> String {
    let der = key.to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_else(|_| key.to_bytes().to_vec());
    format!("ed25519:{}", &sha256_hex(&der)[..32])
}

impl LocalSigningKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        Self { key: SigningKey::generate(&mut rand_core::OsRng) }
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`, as `keygen` and `openssl genpkey
    /// -algorithm ed25519` write it).
    pub fn read(path: &Path) -> Result<Self, Error> {
        let pem = std::fs::read_to_string(path).map_err(|e| key_err(path, format!("cannot read: {e}")))?;
        let key = SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| key_err(path, format!("not an Ed25519 PKCS#8 PEM private key: {e}")))?;
        Ok(Self { key })
    }

    /// Writes the private key (PKCS#8 PEM, mode 0600) to `private` and the public key (SPKI PEM) to `public`.
    /// Refuses to overwrite either file.
    pub fn write(&self, private: &Path, public: &Path) -> Result<(), Error> {
        for path in [private, public] {
            if path.exists() {
                return Err(key_err(path, "already exists; refusing to overwrite a key file"));
            }
        }
        let pem = self.key.to_pkcs8_pem(LineEnding::LF).map_err(|e| key_err(private, e))?;
        write_new(private, pem.as_bytes(), true)?;
        write_new(public, self.public_key_pem()?.as_bytes(), false)
    }

    /// The public key, SPKI PEM.
    pub fn public_key_pem(&self) -> Result<String, Error> {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::Signature { file: "public key".into(), reason: e.to_string() })
    }

    /// The key id written into `manifest.sig.json`.
    pub fn key_id(&self) -> String {
        ed25519_key_id(&self.key.verifying_key())
    }

    /// Signs `manifest` (the exact bytes of `manifest.json`).
    pub fn sign(&self, manifest: &[u8]) -> Result<ManifestSignature, Error> {
        let signature = self.key.sign(manifest);
        Ok(ManifestSignature::external(
            ED25519,
            &self.key_id(),
            &self.public_key_pem()?,
            manifest,
            signature.to_bytes().to_vec(),
        ))
    }
}

fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), Error> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| key_err(path, format!("cannot create: {e}")))?;
    file.write_all(contents).and_then(|()| file.sync_all()).map_err(|e| key_err(path, format!("cannot write: {e}")))
}

/// Key id of a public key PEM, for `--trusted-key-id` matching: `ed25519:…` for Ed25519 keys, `None` otherwise
/// (Key Vault keys are identified by their key id URL in `manifest.sig.json`).
pub fn key_id_of_public_pem(pem: &str) -> Option<String> {
    VerifyingKey::from_public_key_pem(pem).ok().map(|k| ed25519_key_id(&k))
}

/// Canonical form of a public key PEM for comparisons: the base64 body without whitespace.
pub fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.chars()).filter(|c| !c.is_whitespace()).collect()
}

/// Checks `signature` over `message` with the algorithm and public key named in `info`.
pub fn verify_signature(info: &SignatureInfo, message: &[u8], signature: &[u8]) -> Result<(), String> {
    match info.algorithm.as_str() {
        ED25519 => {
            let key = VerifyingKey::from_public_key_pem(&info.public_key_pem)
                .map_err(|e| format!("the public key in manifest.sig.json is not an Ed25519 SPKI PEM: {e}"))?;
            let bytes: [u8; 64] = signature
                .try_into()
                .map_err(|_| format!("an Ed25519 signature is 64 bytes, manifest.sig has {}", signature.len()))?;
            key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes))
                .map_err(|_| "the signature does not match manifest.json and the public key".to_string())
        }
        alg if KEY_VAULT_ALGORITHMS.contains(&alg) => {
            crate::jws::verify_key_vault_signature(alg, &info.public_key_pem, message, signature)
        }
        other => Err(format!("unknown signature algorithm {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let key = LocalSigningKey::generate();
        let sig = key.sign(b"{\"a\":1}\n").unwrap();
        assert_eq!(sig.bytes.len(), 64);
        assert!(sig.info.key_id.starts_with("ed25519:"));
        verify_signature(&sig.info, b"{\"a\":1}\n", &sig.bytes).unwrap();
        assert!(verify_signature(&sig.info, b"{\"a\":2}\n", &sig.bytes).is_err());
        let other = LocalSigningKey::generate();
        let mut wrong = sig.info.clone();
        wrong.public_key_pem = other.public_key_pem().unwrap();
        assert!(verify_signature(&wrong, b"{\"a\":1}\n", &sig.bytes).is_err());
        assert_eq!(key_id_of_public_pem(&sig.info.public_key_pem), Some(sig.info.key_id.clone()));
    }

    #[test]
    fn key_files_round_trip_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = (dir.path().join("k.pem"), dir.path().join("k.pub.pem"));
        let key = LocalSigningKey::generate();
        key.write(&private, &public).unwrap();
        let back = LocalSigningKey::read(&private).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert!(key.write(&private, &public).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
        let err = LocalSigningKey::read(&dir.path().join("bad.pem")).unwrap_err().to_string();
        assert!(err.contains("bad.pem"), "{err}");
    }
}
