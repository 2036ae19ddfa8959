//! Real key material for keys that may sign (`key_ops` holds `sign`): an EC P-256 or RSA private key derived
//! deterministically from tenant / vault / key / version, so every run of a scenario serves the same public
//! key, and the `sign` operation with the algorithms Key Vault names ES256, RS256 and PS256.
//!
//! RSA key generation is slow in debug builds, so keys are made on first use and kept in a process-wide memo
//! (a pure function of its input: which simulator asked first cannot change the answer). Keys that cannot
//! sign keep the cheap fake material of [`crate::material`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use rand_core::{CryptoRng, RngCore};
use rsa::traits::PublicKeyParts as _;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use sha2::{Digest as _, Sha256};

use crate::material::base64url;
use crate::scenario::Key;

/// What kind of private key a key version gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum KeyKind {
    /// EC on NIST P-256 (`EC`/`EC-HSM` with `crv` P-256).
    EcP256,
    /// RSA with a modulus of this many bits.
    Rsa(u32),
}

/// Which private key to use: the kind and the seed it is derived from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct KeySpec {
    pub(crate) kind: KeyKind,
    /// `{tenant}/{vault or HSM}/{key}/{version}`, lower case.
    pub(crate) seed: String,
}

impl KeySpec {
    /// The real key of `version` of `key`, if the key may sign and its type is one the simulator signs with
    /// (RSA of any size, EC on P-256). Other keys (no `sign` in `key_ops`, other curves, `oct-HSM`) get `None`
    /// and keep their fake material.
    pub(crate) fn of(tenant: &str, key: &Key, version: &str) -> Option<KeySpec> {
        if !key.key_ops.iter().any(|op| op.eq_ignore_ascii_case("sign")) {
            return None;
        }
        let kind = if key.kty.starts_with("RSA") {
            KeyKind::Rsa(key.size.unwrap_or(2048))
        } else if key.kty.starts_with("EC") && key.curve.as_deref().is_none_or(|c| c == "P-256") {
            KeyKind::EcP256
        } else {
            return None;
        };
        let seed = format!("{tenant}/{}/{}/{version}", key.container, key.name).to_ascii_lowercase();
        Some(KeySpec { kind, seed })
    }
}

/// A private key the simulator signs with (no `Debug`: nothing should print it).
pub(crate) enum PrivateKey {
    EcP256(p256::ecdsa::SigningKey),
    Rsa(Box<RsaPrivateKey>),
}

/// The signature algorithms the simulator implements (Key Vault's JWA names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Es256,
    Rs256,
    Ps256,
}

impl Algorithm {
    /// `None` for an algorithm the simulator does not implement (Key Vault knows more: ES384, RS512, ...).
    pub(crate) fn parse(name: &str) -> Option<Algorithm> {
        match name {
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            "PS256" => Some(Algorithm::Ps256),
            _ => None,
        }
    }
}

/// Why a signature was not made (each becomes a 400 `BadParameter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignError {
    /// The algorithm does not fit the key type (ES256 with an RSA key, ...).
    Incompatible,
    /// The digest is not as long as the algorithm's hash (32 bytes for SHA-256).
    DigestLength(usize),
    /// The signing primitive failed (cannot happen for well-formed keys; kept rather than panicking).
    Failed(String),
}

impl PrivateKey {
    /// The JWK public members: `n`, `e` for RSA; `crv`, `x`, `y` for EC (base64url without padding).
    pub(crate) fn public_jwk_members(&self) -> Vec<(&'static str, String)> {
        match self {
            PrivateKey::EcP256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                let coordinate = |c: Option<&p256::FieldBytes>| c.map(|b| base64url(b)).unwrap_or_default();
                vec![("crv", "P-256".to_string()), ("x", coordinate(point.x())), ("y", coordinate(point.y()))]
            }
            PrivateKey::Rsa(key) => {
                vec![("n", base64url(&key.n().to_bytes_be())), ("e", base64url(&key.e().to_bytes_be()))]
            }
        }
    }

    /// Signs a SHA-256 `digest` as Key Vault does: ES256 is raw `r || s` (64 bytes, JWS form, not DER); RS256
    /// is PKCS#1 v1.5 with the SHA-256 DigestInfo prefix; PS256 is RSASSA-PSS with MGF1-SHA-256 and a 32-byte
    /// salt (RFC 7518 §3.5: salt length = hash length).
    pub(crate) fn sign(&self, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        if digest.len() != 32 {
            return Err(SignError::DigestLength(digest.len()));
        }
        match (self, algorithm) {
            (PrivateKey::EcP256(key), Algorithm::Es256) => {
                let signature: p256::ecdsa::Signature =
                    key.sign_prehash(digest).map_err(|e| SignError::Failed(e.to_string()))?;
                Ok(signature.to_bytes().to_vec())
            }
            (PrivateKey::Rsa(key), Algorithm::Rs256) => {
                key.sign(Pkcs1v15Sign::new::<Sha256>(), digest).map_err(|e| SignError::Failed(e.to_string()))
            }
            (PrivateKey::Rsa(key), Algorithm::Ps256) => key
                .sign_with_rng(&mut rand_core::OsRng, Pss::new::<Sha256>(), digest)
                .map_err(|e| SignError::Failed(e.to_string())),
            _ => Err(SignError::Incompatible),
        }
    }
}

type Memo = Mutex<HashMap<KeySpec, Arc<OnceLock<Result<Arc<PrivateKey>, String>>>>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The private key for `spec`, made on first use. RSA key generation may take seconds in a debug build: from
/// async code call [`private_key_async`]. `Err` only if key generation failed.
pub(crate) fn private_key(spec: &KeySpec) -> Result<Arc<PrivateKey>, String> {
    let cell = {
        let mut map = memo().lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(spec.clone()).or_default())
    };
    // Concurrent callers for the same key wait here for the one that generates it.
    cell.get_or_init(|| derive(spec).map(Arc::new)).clone()
}

/// [`private_key`] on tokio's blocking pool, so RSA key generation does not stall the server's other requests.
pub(crate) async fn private_key_async(spec: KeySpec) -> Result<Arc<PrivateKey>, String> {
    tokio::task::spawn_blocking(move || private_key(&spec))
        .await
        .map_err(|e| format!("key generation did not finish: {e}"))?
}

fn derive(spec: &KeySpec) -> Result<PrivateKey, String> {
    let mut rng = SeededRng::new(&format!("azure-sim signing key|{:?}|{}", spec.kind, spec.seed));
    match spec.kind {
        KeyKind::EcP256 => {
            // A scalar is valid unless it is zero or at least the group order (probability about 2^-32):
            // draw again in that case.
            for _ in 0..16 {
                let mut scalar = [0u8; 32];
                rng.fill_bytes(&mut scalar);
                if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&scalar) {
                    return Ok(PrivateKey::EcP256(key));
                }
            }
            Err(format!("no valid P-256 scalar derived for {}", spec.seed))
        }
        KeyKind::Rsa(bits) => {
            let bits = usize::try_from(bits).map_err(|e| e.to_string())?;
            RsaPrivateKey::new(&mut rng, bits)
                .map(|key| PrivateKey::Rsa(Box::new(key)))
                .map_err(|e| format!("RSA key generation for {} failed: {e}", spec.seed))
        }
    }
}

/// A deterministic byte stream (SHA-256 of seed and block counter) for key generation only: the same seed
/// always gives the same key. Never used where unpredictability matters (PSS salts use the OS generator).
struct SeededRng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl SeededRng {
    fn new(seed: &str) -> SeededRng {
        SeededRng { seed: Sha256::digest(seed.as_bytes()).into(), counter: 0, block: [0; 32], used: 32 }
    }
}

impl RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == self.block.len() {
                let mut hasher = Sha256::new();
                hasher.update(self.seed);
                hasher.update(self.counter.to_le_bytes());
                self.block = hasher.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SeededRng {}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: KeyKind, seed: &str) -> KeySpec {
        KeySpec { kind, seed: seed.to_string() }
    }

    #[test]
    fn seeded_stream_is_stable() {
        let mut a = SeededRng::new("x");
        let mut b = SeededRng::new("x");
        let mut c = SeededRng::new("y");
        let (mut ba, mut bb, mut bc) = ([0u8; 70], [0u8; 70], [0u8; 70]);
        a.fill_bytes(&mut ba);
        b.fill_bytes(&mut bb[..5]);
        b.fill_bytes(&mut bb[5..]);
        c.fill_bytes(&mut bc);
        assert_eq!(ba, bb, "the stream does not depend on how it is read");
        assert_ne!(ba, bc);
    }

    #[test]
    fn ec_keys_are_derived_deterministically_and_sign_raw_r_s() {
        let one = spec(KeyKind::EcP256, "t/v/k/1");
        let key = private_key(&one).unwrap();
        let again = derive(&one).unwrap();
        assert_eq!(key.public_jwk_members(), again.public_jwk_members());
        let other = private_key(&spec(KeyKind::EcP256, "t/v/k/2")).unwrap();
        assert_ne!(key.public_jwk_members(), other.public_jwk_members());
        assert_eq!(key.sign(Algorithm::Es256, &[7u8; 32]).map(|s| s.len()), Ok(64));
        assert_eq!(key.sign(Algorithm::Rs256, &[7u8; 32]), Err(SignError::Incompatible));
        assert_eq!(key.sign(Algorithm::Es256, &[7u8; 20]), Err(SignError::DigestLength(20)));
    }

    #[test]
    fn rsa_keys_are_derived_deterministically() {
        // `derive`, not the memo: two independent generations from the same seed.
        let one = spec(KeyKind::Rsa(2048), "t/v/rsa/1");
        let first = derive(&one).unwrap().public_jwk_members();
        let second = derive(&one).unwrap().public_jwk_members();
        assert_eq!(first, second);
        assert_eq!(first[1], ("e", "AQAB".to_string()));
        assert_eq!(first[0].1.len(), 342, "2048-bit modulus = 256 bytes = 342 base64url characters");
    }

    #[test]
    fn algorithms_by_name() {
        assert_eq!(Algorithm::parse("ES256"), Some(Algorithm::Es256));
        assert_eq!(Algorithm::parse("PS256"), Some(Algorithm::Ps256));
        assert_eq!(Algorithm::parse("es256"), None);
        assert_eq!(Algorithm::parse("RS512"), None);
    }
}
