//! Signatures made by Azure Key Vault / Managed HSM keys (the `sign` operation) checked offline, and the
//! conversion of the key's JWK (from a key bundle) to the SPKI PEM that `manifest.sig.json` records.
//!
//! Key Vault signs a digest and returns the signature in JWS form (RFC 7518 §3): ES256 is the 64-byte
//! concatenation `r || s` (not DER), RS256 is RSASSA-PKCS1-v1_5 with SHA-256, PS256 is RSASSA-PSS with SHA-256,
//! MGF1-SHA-256 and a salt as long as the hash (32 bytes) — RFC 7518 §3.5, and what the Azure SDKs' own local
//! verifiers assume. Verification here is strict about that salt length.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _, LineEnding};
use rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPublicKey};
use sha2::{Digest as _, Sha256};

/// JWK members are base64url without padding; padding is tolerated.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Verifies `signature` over `message` (the bytes of `manifest.json`; SHA-256 is applied here) made by a Key
/// Vault key with `algorithm` (`"ES256"`, `"RS256"` or `"PS256"`). `public_key_pem` is an SPKI PEM
/// (`-----BEGIN PUBLIC KEY-----`): P-256 for ES256, RSA for RS256 and PS256. The error says what is wrong.
pub(crate) fn verify_key_vault_signature(
    algorithm: &str,
    public_key_pem: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    const MISMATCH: &str = "the signature does not match manifest.json and the public key";
    match algorithm {
        "ES256" => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_pem(public_key_pem)
                .map_err(|e| format!("ES256 needs a P-256 public key; the PEM is not one: {e}"))?;
            if signature.len() != 64 {
                return Err(format!(
                    "an ES256 signature from Key Vault is 64 bytes (r || s), manifest.sig has {}",
                    signature.len()
                ));
            }
            let signature = p256::ecdsa::Signature::from_slice(signature)
                .map_err(|_| "the ES256 signature has r or s out of range".to_string())?;
            key.verify(message, &signature).map_err(|_| MISMATCH.to_string())
        }
        "RS256" | "PS256" => {
            let key = RsaPublicKey::from_public_key_pem(public_key_pem)
                .map_err(|e| format!("{algorithm} needs an RSA public key; the PEM is not one: {e}"))?;
            let digest = Sha256::digest(message);
            let checked = if algorithm == "RS256" {
                key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
            } else {
                key.verify(Pss::new::<Sha256>(), &digest, signature)
            };
            checked.map_err(|_| MISMATCH.to_string())
        }
        other => Err(format!("unknown Key Vault signature algorithm {other:?} (expected ES256, RS256 or PS256)")),
    }
}

/// Converts a Key Vault JWK — the `key` object of a key bundle from `GET {vault}/keys/{name}/{version}` — to an
/// SPKI PEM (`-----BEGIN PUBLIC KEY-----`, LF line endings): `kty` `RSA`/`RSA-HSM` with `n` and `e`, or
/// `EC`/`EC-HSM` with `crv` `P-256`, `x` and `y`. The point is checked to lie on the curve.
pub fn public_key_pem_from_jwk(jwk: &serde_json::Value) -> Result<String, String> {
    let member = |name: &str| -> Result<Vec<u8>, String> {
        let text =
            jwk.get(name).and_then(serde_json::Value::as_str).ok_or_else(|| format!("the JWK has no '{name}'"))?;
        BASE64URL.decode(text).map_err(|e| format!("the JWK's '{name}' is not base64url: {e}"))
    };
    let kty = jwk.get("kty").and_then(serde_json::Value::as_str).ok_or("the JWK has no 'kty'")?;
    match kty {
        "RSA" | "RSA-HSM" => {
            let (n, e) = (member("n")?, member("e")?);
            let key = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
                .map_err(|e| format!("the JWK is not a usable RSA public key: {e}"))?;
            key.to_public_key_pem(LineEnding::LF).map_err(|e| format!("cannot encode the RSA public key: {e}"))
        }
        "EC" | "EC-HSM" => {
            let crv = jwk.get("crv").and_then(serde_json::Value::as_str).ok_or("the EC JWK has no 'crv'")?;
            if crv != "P-256" {
                return Err(format!("EC curve {crv:?} is not supported; Key Vault ES256 keys are on P-256"));
            }
            let (x, y) = (coordinate(member("x")?, "x")?, coordinate(member("y")?, "y")?);
            let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
            let key = p256::PublicKey::from_sec1_bytes(point.as_bytes())
                .map_err(|_| "the JWK's x and y are not a point on P-256".to_string())?;
            key.to_public_key_pem(LineEnding::LF).map_err(|e| format!("cannot encode the P-256 public key: {e}"))
        }
        other => Err(format!("key type {other:?} cannot sign manifests (expected RSA, RSA-HSM, EC or EC-HSM)")),
    }
}

/// A P-256 coordinate as 32 big-endian bytes; a shorter value (leading zeros dropped) is padded.
fn coordinate(bytes: Vec<u8>, name: &str) -> Result<[u8; 32], String> {
    if bytes.len() > 32 {
        return Err(format!("the JWK's '{name}' is {} bytes; a P-256 coordinate is 32", bytes.len()));
    }
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;
    use rand_core::OsRng;
    use rsa::RsaPrivateKey;
    use rsa::traits::PublicKeyParts as _;
    use serde_json::json;
    use std::sync::OnceLock;

    const MESSAGE: &[u8] = b"{\"format\":\"cmk-evidence/1\",\"files\":[]}\n";

    /// One RSA 2048 key for every test (generation is slow in debug builds).
    fn rsa_key() -> &'static RsaPrivateKey {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 2048).unwrap())
    }

    fn rsa_pem(key: &RsaPrivateKey) -> String {
        key.to_public_key().to_public_key_pem(LineEnding::LF).unwrap()
    }

    fn ec_pem(key: &SigningKey) -> String {
        key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rs256(message: &[u8]) -> Vec<u8> {
        rsa_key().sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message)).unwrap()
    }

    fn ps256(message: &[u8], salt_len: usize) -> Vec<u8> {
        rsa_key().sign_with_rng(&mut OsRng, Pss::new_with_salt::<Sha256>(salt_len), &Sha256::digest(message)).unwrap()
    }

    fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[at] ^= 0x01;
        out
    }

    #[test]
    fn es256_round_trip_flip_and_wrong_key() {
        let key = SigningKey::random(&mut OsRng);
        let pem = ec_pem(&key);
        let signature: p256::ecdsa::Signature = key.sign(MESSAGE);
        let raw = signature.to_bytes().to_vec();
        assert_eq!(raw.len(), 64);
        verify_key_vault_signature("ES256", &pem, MESSAGE, &raw).unwrap();
        // Key Vault does not normalise s: a high-S signature is as valid as the low-S one.
        let high_s = p256::ecdsa::Signature::from_scalars(signature.r(), -*signature.s()).unwrap();
        verify_key_vault_signature("ES256", &pem, MESSAGE, &high_s.to_bytes()).unwrap();

        assert!(verify_key_vault_signature("ES256", &pem, MESSAGE, &flipped(&raw, 40)).is_err());
        assert!(verify_key_vault_signature("ES256", &pem, &flipped(MESSAGE, 3), &raw).is_err());
        let other = ec_pem(&SigningKey::random(&mut OsRng));
        let wrong = verify_key_vault_signature("ES256", &other, MESSAGE, &raw).unwrap_err();
        assert!(wrong.contains("does not match"), "{wrong}");
        let der = verify_key_vault_signature("ES256", &pem, MESSAGE, signature.to_der().as_bytes()).unwrap_err();
        assert!(der.contains("64 bytes"), "DER is not what Key Vault returns: {der}");
        let rsa_pem_for_es256 = verify_key_vault_signature("ES256", &rsa_pem(rsa_key()), MESSAGE, &raw).unwrap_err();
        assert!(rsa_pem_for_es256.contains("P-256"), "{rsa_pem_for_es256}");
    }

    #[test]
    fn rs256_and_ps256_round_trip_flip_and_wrong_key() {
        let pem = rsa_pem(rsa_key());
        let rs = rs256(MESSAGE);
        let ps = ps256(MESSAGE, 32);
        verify_key_vault_signature("RS256", &pem, MESSAGE, &rs).unwrap();
        verify_key_vault_signature("PS256", &pem, MESSAGE, &ps).unwrap();
        for (alg, signature) in [("RS256", &rs), ("PS256", &ps)] {
            assert!(verify_key_vault_signature(alg, &pem, MESSAGE, &flipped(signature, 100)).is_err(), "{alg}");
            assert!(verify_key_vault_signature(alg, &pem, &flipped(MESSAGE, 0), signature).is_err(), "{alg}");
        }
        // The padding is part of the algorithm: an RS256 signature is no PS256 signature and vice versa.
        assert!(verify_key_vault_signature("PS256", &pem, MESSAGE, &rs).is_err());
        assert!(verify_key_vault_signature("RS256", &pem, MESSAGE, &ps).is_err());
        // Key Vault's PS256 salt is 32 bytes; another salt length is not Key Vault's PS256.
        assert!(verify_key_vault_signature("PS256", &pem, MESSAGE, &ps256(MESSAGE, 20)).is_err());

        let other = rsa_pem(&RsaPrivateKey::new(&mut OsRng, 1024).unwrap());
        assert!(verify_key_vault_signature("RS256", &other, MESSAGE, &rs).is_err());
        assert!(verify_key_vault_signature("PS256", &other, MESSAGE, &ps).is_err());
        let ec = ec_pem(&SigningKey::random(&mut OsRng));
        assert!(verify_key_vault_signature("RS256", &ec, MESSAGE, &rs).unwrap_err().contains("RSA public key"));
    }

    #[test]
    fn unknown_algorithms_are_refused() {
        let pem = rsa_pem(rsa_key());
        let rs = rs256(MESSAGE);
        for alg in ["ES384", "RS512", "PS384", "HS256", "Ed25519", "rs256", ""] {
            let error = verify_key_vault_signature(alg, &pem, MESSAGE, &rs).unwrap_err();
            assert!(error.contains("unknown"), "{alg}: {error}");
        }
    }

    #[test]
    fn jwk_to_pem_matches_the_crates_own_encoding() {
        let public = rsa_key().to_public_key();
        for kty in ["RSA", "RSA-HSM"] {
            let jwk = json!({
                "kid": "https://kv.vault.azure.net/keys/sign/0123",
                "kty": kty,
                "key_ops": ["sign", "verify"],
                "n": b64(&public.n().to_bytes_be()),
                "e": b64(&public.e().to_bytes_be()),
            });
            assert_eq!(public_key_pem_from_jwk(&jwk).unwrap(), rsa_pem(rsa_key()), "{kty}");
        }

        let key = SigningKey::random(&mut OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().unwrap().to_vec(), point.y().unwrap().to_vec());
        for kty in ["EC", "EC-HSM"] {
            let jwk = json!({ "kty": kty, "crv": "P-256", "x": b64(&x), "y": b64(&y) });
            let pem = public_key_pem_from_jwk(&jwk).unwrap();
            assert_eq!(pem, ec_pem(&key), "{kty}");
            assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        }
        // Padding in base64url is tolerated.
        let padded = json!({ "kty": "EC", "crv": "P-256", "x": format!("{}=", b64(&x)), "y": format!("{}=", b64(&y)) });
        assert_eq!(public_key_pem_from_jwk(&padded).unwrap(), ec_pem(&key));
    }

    #[test]
    fn bad_jwks_are_refused_with_a_reason() {
        let key = SigningKey::random(&mut OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        let (x, y) = (b64(point.x().unwrap()), b64(point.y().unwrap()));
        let cases = [
            (json!({ "crv": "P-256", "x": x, "y": y }), "kty"),
            (json!({ "kty": "EC", "x": x, "y": y }), "crv"),
            (json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y }), "P-384"),
            (json!({ "kty": "EC", "crv": "P-256", "x": x }), "'y'"),
            (json!({ "kty": "EC", "crv": "P-256", "x": x, "y": x }), "not a point"),
            (json!({ "kty": "EC", "crv": "P-256", "x": b64(&[1; 33]), "y": y }), "32"),
            (json!({ "kty": "EC", "crv": "P-256", "x": "not base64!", "y": y }), "base64url"),
            (json!({ "kty": "RSA", "e": "AQAB" }), "'n'"),
            (json!({ "kty": "RSA", "n": b64(&[0xff; 256]), "e": "" }), "RSA"),
            (json!({ "kty": "oct-HSM", "k": "AAAA" }), "oct-HSM"),
        ];
        for (jwk, expected) in cases {
            let error = public_key_pem_from_jwk(&jwk).unwrap_err();
            assert!(error.contains(expected), "{jwk}: {error}");
        }
    }

    /// The PEM is standard: `openssl pkeyutl` (what an auditor has) accepts our signatures with it.
    #[test]
    fn openssl_verifies_with_the_pem_from_the_jwk() {
        let dir = tempfile::tempdir().unwrap();
        let public = rsa_key().to_public_key();
        let jwk = json!({ "kty": "RSA", "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()) });
        let pem_path = dir.path().join("key.pem");
        std::fs::write(&pem_path, public_key_pem_from_jwk(&jwk).unwrap()).unwrap();
        let digest_path = dir.path().join("manifest.sha256");
        std::fs::write(&digest_path, Sha256::digest(MESSAGE)).unwrap();
        let sig_path = dir.path().join("manifest.sig");

        let openssl = |extra: &[&str]| {
            let mut command = std::process::Command::new("openssl");
            command.args(["pkeyutl", "-verify", "-pubin", "-inkey"]).arg(&pem_path);
            command.arg("-in").arg(&digest_path).arg("-sigfile").arg(&sig_path);
            command.args(["-pkeyopt", "digest:sha256"]).args(extra);
            let output = command.output().expect("openssl is installed (.ci/run installs it)");
            (
                output.status.success(),
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
            )
        };

        std::fs::write(&sig_path, rs256(MESSAGE)).unwrap();
        let (ok, text) = openssl(&[]);
        assert!(ok && text.contains("Signature Verified Successfully"), "RS256: {text}");
        std::fs::write(&sig_path, ps256(MESSAGE, 32)).unwrap();
        let (ok, text) = openssl(&["-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:32"]);
        assert!(ok, "PS256: {text}");
        std::fs::write(&sig_path, flipped(&rs256(MESSAGE), 7)).unwrap();
        let (ok, _) = openssl(&[]);
        assert!(!ok, "openssl must reject a damaged signature");

        // ES256: the EC PEM is standard too (openssl wants the signature as DER).
        let key = SigningKey::random(&mut OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        let jwk = json!({ "kty": "EC", "crv": "P-256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()) });
        std::fs::write(&pem_path, public_key_pem_from_jwk(&jwk).unwrap()).unwrap();
        let signature: p256::ecdsa::Signature = key.sign(MESSAGE);
        std::fs::write(&sig_path, signature.to_der().as_bytes()).unwrap();
        let (ok, text) = openssl(&[]);
        assert!(ok, "ES256: {text}");
    }
}
