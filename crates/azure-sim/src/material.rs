//! Deterministic stand-ins for what Azure generates: key version ids, assignment names, request ids, opaque
//! tokens, RSA moduli and EC points. The same scenario always yields the same bytes, so evidence built from the
//! simulator is reproducible.

use sha2::{Digest, Sha256};

/// SHA-256 of `seed`, as bytes.
fn digest(seed: &str) -> [u8; 32] {
    Sha256::digest(seed.as_bytes()).into()
}

/// A Key Vault version id (32 lowercase hex digits) derived from `seed`.
pub(crate) fn version_id(seed: &str) -> String {
    hex::encode(&digest(seed)[..16])
}

/// A certificate or key thumbprint (40 uppercase hex digits, SHA-1 sized) derived from `seed`.
pub(crate) fn thumbprint(seed: &str) -> String {
    hex::encode_upper(&digest(seed)[..20])
}

/// A GUID (version-4 layout) derived from `seed`, for role assignment names and the like.
pub(crate) fn guid(seed: &str) -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest(seed)[..16]);
    format_guid(bytes)
}

/// A random GUID for request and correlation ids.
pub(crate) fn random_guid() -> String {
    let mut bytes = [0u8; 16];
    for b in &mut bytes {
        *b = fastrand::u8(..);
    }
    format_guid(bytes)
}

fn format_guid(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// An opaque bearer token. Random, so a token from one simulator run never works against another.
pub(crate) fn access_token() -> String {
    let mut bytes = [0u8; 48];
    for b in &mut bytes {
        *b = fastrand::u8(..);
    }
    base64url(&bytes)
}

/// `n` pseudo-random bytes expanded from `seed` (SHA-256 in counter mode).
fn stream(seed: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut counter = 0u32;
    while out.len() < n {
        out.extend_from_slice(&digest(&format!("{seed}#{counter}")));
        counter += 1;
    }
    out.truncate(n);
    out
}

/// A fake RSA modulus of exactly `bits` bits (top bit set, odd), base64url without padding.
pub(crate) fn rsa_modulus(seed: &str, bits: u32) -> String {
    let len = usize::try_from(bits.div_ceil(8)).unwrap_or(256);
    let mut n = stream(seed, len);
    let top_bits = bits % 8;
    if let Some(first) = n.first_mut() {
        if top_bits == 0 {
            *first |= 0x80;
        } else {
            *first &= (1u8 << top_bits) - 1;
            *first |= 1u8 << (top_bits - 1);
        }
    }
    if let Some(last) = n.last_mut() {
        *last |= 1;
    }
    base64url(&n)
}

/// Fake EC public point coordinates `(x, y)` for `curve`, base64url without padding.
pub(crate) fn ec_point(seed: &str, curve: &str) -> (String, String) {
    let len = match curve {
        "P-384" => 48,
        "P-521" => 66,
        _ => 32,
    };
    let x = stream(&format!("{seed}/x"), len);
    let y = stream(&format!("{seed}/y"), len);
    (base64url(&x), base64url(&y))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding, as Key Vault writes JWK fields and continuation tokens.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// Decode base64url (padding and the standard alphabet tolerated); `None` for anything else.
pub(crate) fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in text.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let encoded = base64url(input);
            assert!(!encoded.contains('='));
            assert_eq!(base64url_decode(&encoded).as_deref(), Some(input));
        }
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn rsa_modulus_has_the_requested_bit_length() {
        for bits in [2048u32, 3072, 4096] {
            let n = base64url_decode(&rsa_modulus("seed", bits)).unwrap_or_default();
            assert_eq!(n.len() * 8, bits as usize);
            assert!(n[0] & 0x80 != 0, "top bit set so the size is exact");
        }
    }

    #[test]
    fn derived_ids_are_stable() {
        assert_eq!(version_id("a"), version_id("a"));
        assert_eq!(version_id("a").len(), 32);
        let g = guid("x");
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
    }
}
