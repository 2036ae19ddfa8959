//! `kv_sign` end to end: the real client (client-secret credential, Key Vault challenge, `KeyClient::sign`)
//! against `azure-sim`'s default scenario, and the ES256 signature checked with the public key of `kv_get_key`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use azure_rest::{AzureClient, ClientConfig, Cloud, CredentialSpec, Error, RetryConfig};
use azure_sim::{Scenario, SimOptions};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::{Digest as _, Sha256};

const VAULT: &str = "https://kv-contoso-shared.vault.azure.net/";

fn b64url_decode(value: &serde_json::Value) -> Vec<u8> {
    azure_core::base64::decode_url_safe(value.as_str().expect("a base64url string")).expect("base64url")
}

#[tokio::test]
async fn evidence_is_signed_by_the_simulated_vault_and_verifies_with_the_key_it_serves() {
    let scenario = Scenario::default_scenario();
    let (client_id, secret) = scenario.client_credentials();
    let sim = azure_sim::start(scenario.clone(), SimOptions::default()).await.unwrap();
    let client = AzureClient::new(ClientConfig {
        tenant_id: scenario.tenant_id().into(),
        cloud: Cloud::public(),
        credential: CredentialSpec::ClientSecret { tenant_id: scenario.tenant_id().into(), client_id, secret },
        retry: RetryConfig::default(),
        redirect_to_loopback: Some(sim.addr()),
    })
    .unwrap();
    let digest = Sha256::digest(b"{\"format\":1}");

    // Unversioned key id: the latest version signs and the answer names it.
    let signed = client.kv_sign(&format!("{VAULT}keys/evidence-signing"), "ES256", &digest).await.unwrap();
    assert_eq!(
        signed.kid,
        "https://kv-contoso-shared.vault.azure.net/keys/evidence-signing/c6f877186d76b07e881ed162ae2eb154"
    );
    assert_eq!(signed.signature.len(), 64);
    let version = signed.kid.rsplit('/').next().unwrap();
    let key = client.kv_get_key(VAULT, "evidence-signing", Some(version)).await.unwrap();
    let jwk = &key.json::<serde_json::Value>().unwrap()["key"];
    let (x, y) = (b64url_decode(&jwk["x"]), b64url_decode(&jwk["y"]));
    let point = p256::EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
    let verifying_key = p256::ecdsa::VerifyingKey::from_encoded_point(&point).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&signed.signature).unwrap();
    verifying_key.verify_prehash(&digest, &signature).expect("the signature verifies with the served key");

    let rsa = client.kv_sign(&format!("{VAULT}keys/evidence-signing-rsa"), "PS256", &digest).await.unwrap();
    assert_eq!(rsa.signature.len(), 256);
    assert!(rsa.kid.starts_with("https://kv-contoso-shared.vault.azure.net/keys/evidence-signing-rsa/"));

    // The collector holds no sign permission on the production vault: a typed "denied".
    let denied =
        client.kv_sign("https://kv-contoso-prod.vault.azure.net/keys/cmk-finance", "RS256", &digest).await.unwrap_err();
    assert!(matches!(denied, Error::Http { status: 403, .. }), "{denied:?}");
    assert_eq!(denied.coverage_status(), "denied");

    // Three signs plus the first, unauthenticated request to each of the two vaults (the challenge).
    assert_eq!(sim.stats().by_route.get("kv.keys.sign"), Some(&5));
    sim.shutdown().await;
}
