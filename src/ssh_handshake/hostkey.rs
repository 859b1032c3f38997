//! The server's host key: its fingerprint and the check of its signature over the exchange
//! hash, for Ed25519 (RFC 8709), ECDSA P-256 (RFC 5656) and RSA with SHA-2 (RFC 8332).
//!
//! The signature is what proves that the answering server holds the private host key; without
//! checking it the fingerprint would mean nothing. The fingerprint is the form `ssh-keygen -l`
//! prints, so an operator can compare it with the guest's own key files.

use super::error::Fault;
use super::wire::Reader;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use sha2::{Digest, Sha256};

/// Offered host key algorithms, preferred first.
pub const HOST_KEY_ALGORITHMS: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "rsa-sha2-512",
    "rsa-sha2-256",
];

/// `SHA256:` and the unpadded base64 of the SHA-256 of the key blob, as `ssh-keygen -l` prints.
pub fn fingerprint(host_key: &[u8]) -> String {
    let digest = Sha256::digest(host_key);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// Checks that `signature` (an SSH signature blob) is `algorithm`'s signature of
/// `exchange_hash` by `host_key` (an SSH public key blob).
pub fn verify(
    algorithm: &str,
    host_key: &[u8],
    signature: &[u8],
    exchange_hash: &[u8],
) -> Result<(), Fault> {
    let mut key = Reader::new(host_key, "host key");
    let key_type = key.name()?;
    let expected_type = match algorithm {
        "rsa-sha2-512" | "rsa-sha2-256" => "ssh-rsa",
        other => other,
    };
    if key_type != expected_type {
        return Err(Fault::Protocol(format!(
            "the server's host key is {key_type}, but {algorithm} was agreed"
        )));
    }
    let mut sig = Reader::new(signature, "host key signature");
    let sig_type = sig.name()?;
    if sig_type != algorithm {
        return Err(Fault::Protocol(format!(
            "the server signed with {sig_type}, but {algorithm} was agreed"
        )));
    }
    let sig = sig.string()?;
    let valid = match algorithm {
        "ssh-ed25519" => {
            let public = key.string()?;
            UnparsedPublicKey::new(&signature::ED25519, public).verify(exchange_hash, sig)
        }
        "ecdsa-sha2-nistp256" => {
            if key.name()? != "nistp256" {
                return Err(Fault::Protocol(
                    "the server's ECDSA host key is not on nistp256".to_string(),
                ));
            }
            let public = key.string()?;
            let fixed = ecdsa_fixed(sig)?;
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public)
                .verify(exchange_hash, &fixed)
        }
        "rsa-sha2-512" | "rsa-sha2-256" => {
            let e = key.mpint()?;
            let n = key.mpint()?;
            let params = if algorithm == "rsa-sha2-512" {
                &signature::RSA_PKCS1_2048_8192_SHA512
            } else {
                &signature::RSA_PKCS1_2048_8192_SHA256
            };
            // Some servers drop leading zero bytes of the signature; it must be as long as n.
            let mut full = vec![0u8; n.len().saturating_sub(sig.len())];
            full.extend_from_slice(sig);
            RsaPublicKeyComponents { n, e }.verify(params, exchange_hash, &full)
        }
        other => {
            return Err(Fault::Protocol(format!(
                "host key algorithm {other} is not implemented"
            )));
        }
    };
    valid.map_err(|_| Fault::BadSignature {
        algorithm: algorithm.to_string(),
        fingerprint: fingerprint(host_key),
    })
}

/// RFC 5656 §3.1.2 encodes an ECDSA signature as two mpints r and s; aws-lc-rs's fixed format
/// wants them as 32 big-endian bytes each.
fn ecdsa_fixed(sig: &[u8]) -> Result<[u8; 64], Fault> {
    let mut r = Reader::new(sig, "ECDSA signature");
    let mut fixed = [0u8; 64];
    for half in fixed.chunks_exact_mut(32) {
        let value = r.mpint()?;
        if value.len() > 32 {
            return Err(Fault::Protocol(
                "the server's ECDSA signature has an integer over 256 bits".to_string(),
            ));
        }
        half[32 - value.len()..].copy_from_slice(value);
    }
    Ok(fixed)
}

#[cfg(test)]
mod tests {
    use super::super::wire::Writer;
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};

    const H: &[u8] = b"an exchange hash of thirty-two b";

    fn signature_blob(algorithm: &str, sig: &[u8]) -> Vec<u8> {
        Writer::default()
            .string(algorithm.as_bytes())
            .string(sig)
            .finish()
    }

    fn tampered(h: &[u8]) -> Vec<u8> {
        let mut h = h.to_vec();
        h[0] ^= 1;
        h
    }

    fn assert_bad_signature(result: Result<(), Fault>) {
        assert!(
            matches!(result, Err(Fault::BadSignature { ref fingerprint, .. }) if fingerprint.starts_with("SHA256:")),
            "{result:?}"
        );
    }

    #[test]
    fn the_fingerprint_is_what_ssh_keygen_prints() {
        // `ssh-keygen -lf` on `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEJCQkJC…` (this blob) prints
        // "256 SHA256:LgZpRzWEAbVvBimxTv69/UB88PD8jyOSDqfozr+iNX0 (ED25519)".
        let blob = Writer::default()
            .string(b"ssh-ed25519")
            .string(&[0x42; 32])
            .finish();
        assert_eq!(
            fingerprint(&blob),
            "SHA256:LgZpRzWEAbVvBimxTv69/UB88PD8jyOSDqfozr+iNX0"
        );
    }

    #[test]
    fn ed25519_signatures_verify_and_tampering_is_caught() {
        let pair = Ed25519KeyPair::generate().unwrap();
        let key = Writer::default()
            .string(b"ssh-ed25519")
            .string(pair.public_key().as_ref())
            .finish();
        let sig = signature_blob("ssh-ed25519", pair.sign(H).as_ref());
        verify("ssh-ed25519", &key, &sig, H).unwrap();
        assert_bad_signature(verify("ssh-ed25519", &key, &sig, &tampered(H)));
        assert!(matches!(
            verify("ecdsa-sha2-nistp256", &key, &sig, H),
            Err(Fault::Protocol(_))
        ));
    }

    #[test]
    fn ecdsa_signatures_in_ssh_mpint_form_verify() {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pair = EcdsaKeyPair::generate(alg).unwrap();
        let key = Writer::default()
            .string(b"ecdsa-sha2-nistp256")
            .string(b"nistp256")
            .string(pair.public_key().as_ref())
            .finish();
        // Twenty signatures: r or s with the top bit set (the mpint gains a zero byte) or with
        // a leading zero (the mpint is shorter) come up in practically every run.
        for _ in 0..20 {
            let fixed = pair.sign(&rng, H).unwrap();
            let (r, s) = fixed.as_ref().split_at(32);
            let inner = Writer::default().mpint(r).mpint(s).finish();
            let sig = signature_blob("ecdsa-sha2-nistp256", &inner);
            verify("ecdsa-sha2-nistp256", &key, &sig, H).unwrap();
            assert_bad_signature(verify("ecdsa-sha2-nistp256", &key, &sig, &tampered(H)));
        }
    }

    #[test]
    fn rsa_sha2_signatures_verify_with_e_and_n_from_the_key_blob() {
        let rng = SystemRandom::new();
        let pair = signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let key = Writer::default()
            .string(b"ssh-rsa")
            .mpint(&public.e)
            .mpint(&public.n)
            .finish();
        for (name, padding) in [
            ("rsa-sha2-512", &signature::RSA_PKCS1_SHA512),
            ("rsa-sha2-256", &signature::RSA_PKCS1_SHA256),
        ] {
            let mut raw = vec![0; pair.public_modulus_len()];
            pair.sign(padding, &rng, H, &mut raw).unwrap();
            let sig = signature_blob(name, &raw);
            verify(name, &key, &sig, H).unwrap();
            assert_bad_signature(verify(name, &key, &sig, &tampered(H)));
        }
        let mut raw = vec![0; pair.public_modulus_len()];
        pair.sign(&signature::RSA_PKCS1_SHA256, &rng, H, &mut raw)
            .unwrap();
        let mislabelled = signature_blob("rsa-sha2-256", &raw);
        assert!(matches!(
            verify("rsa-sha2-512", &key, &mislabelled, H),
            Err(Fault::Protocol(_))
        ));
    }
}
