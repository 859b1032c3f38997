//! AES-GCM for the SSH transport, as OpenSSH's `aes128-gcm@openssh.com` and
//! `aes256-gcm@openssh.com` define it (RFC 5647 §7, OpenSSH PROTOCOL §1.6).
//!
//! Only AEAD ciphers are offered, so there is no separate MAC to negotiate or compute. The
//! 4-byte packet length travels in clear as additional authenticated data; the rest of the
//! packet is sealed with a 16-byte tag. Each packet's nonce is the 12-byte IV from the key
//! derivation whose last 8 bytes count up by one per packet.

use super::error::Fault;
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};

/// Offered ciphers, preferred first.
pub const CIPHERS: &[&str] = &["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"];
/// The IV (fixed field plus invocation counter) that the key derivation provides.
pub const IV_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
/// GCM's block size, to which packets are padded.
pub const BLOCK: usize = 16;

fn algorithm(name: &str) -> Option<&'static aead::Algorithm> {
    match name {
        "aes128-gcm@openssh.com" => Some(&aead::AES_128_GCM),
        "aes256-gcm@openssh.com" => Some(&aead::AES_256_GCM),
        _ => None,
    }
}

/// The key length of cipher `name`, one of [`CIPHERS`].
pub fn key_len(name: &str) -> Result<usize, Fault> {
    algorithm(name)
        .map(aead::Algorithm::key_len)
        .ok_or_else(|| Fault::Protocol(format!("cipher {name} is not implemented")))
}

/// One direction's cipher state.
pub struct Gcm {
    key: LessSafeKey,
    nonce: Invocations,
}

impl Gcm {
    pub fn new(name: &str, key: &[u8], iv: &[u8]) -> Result<Gcm, Fault> {
        let bad = || Fault::Protocol(format!("could not set up {name}"));
        let alg = algorithm(name).ok_or_else(bad)?;
        let key = UnboundKey::new(alg, key).map_err(|_| bad())?;
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| bad())?;
        Ok(Gcm {
            key: LessSafeKey::new(key),
            nonce: Invocations(iv),
        })
    }

    /// Encrypts `body` (padding length, payload, padding) in place and appends the tag.
    pub fn seal(&mut self, length: [u8; 4], body: &mut Vec<u8>) -> Result<(), Fault> {
        let nonce = Nonce::assume_unique_for_key(self.nonce.next());
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(length), body)
            .map_err(|_| Fault::Protocol("encryption failed".to_string()))?;
        body.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Checks the tag at the end of `sealed` and decrypts the rest in place.
    pub fn open<'a>(&mut self, length: [u8; 4], sealed: &'a mut [u8]) -> Result<&'a [u8], Fault> {
        let nonce = Nonce::assume_unique_for_key(self.nonce.next());
        self.key
            .open_in_place(nonce, Aad::from(length), sealed)
            .map(|plain| &*plain)
            .map_err(|_| {
                Fault::Protocol(
                    "a packet from the server failed its AES-GCM check (corrupted or tampered \
                     with in transit)"
                        .to_string(),
                )
            })
    }
}

/// RFC 5647 §7.1's nonce: a 4-byte fixed field and an 8-byte invocation counter that is
/// incremented, modulo 2^64, after every packet.
struct Invocations([u8; IV_LEN]);

impl Invocations {
    /// The nonce for this packet; the next call returns the following one.
    fn next(&mut self) -> [u8; IV_LEN] {
        let current = self.0;
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&current[4..]);
        let counter = u64::from_be_bytes(counter).wrapping_add(1);
        self.0[4..].copy_from_slice(&counter.to_be_bytes());
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invocation_counter_counts_in_the_last_eight_bytes_only() {
        let mut n = Invocations([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0xfe]);
        assert_eq!(n.next()[11], 0xfe);
        assert_eq!(n.next()[11], 0xff);
        assert_eq!(n.next(), [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 1, 0]);

        let mut wraps = Invocations([9, 9, 9, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        wraps.next();
        assert_eq!(wraps.next(), [9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn sealed_packets_open_in_order_and_the_length_is_authenticated() {
        let (key, iv) = ([7u8; 16], [3u8; IV_LEN]);
        let mut sender = Gcm::new("aes128-gcm@openssh.com", &key, &iv).unwrap();
        let mut receiver = Gcm::new("aes128-gcm@openssh.com", &key, &iv).unwrap();
        for text in [&b"first packet...."[..], b"second packet..."] {
            let mut body = text.to_vec();
            sender.seal([0, 0, 0, 16], &mut body).unwrap();
            assert_eq!(body.len(), 16 + TAG_LEN);
            assert_ne!(&body[..16], text);
            assert_eq!(receiver.open([0, 0, 0, 16], &mut body).unwrap(), text);
        }

        let mut body = b"third packet....".to_vec();
        sender.seal([0, 0, 0, 16], &mut body).unwrap();
        assert!(receiver.open([0, 0, 0, 32], &mut body).is_err());
    }

    #[test]
    fn key_lengths_follow_the_cipher() {
        assert_eq!(key_len("aes128-gcm@openssh.com").unwrap(), 16);
        assert_eq!(key_len("aes256-gcm@openssh.com").unwrap(), 32);
        assert!(key_len("3des-cbc").is_err());
        assert!(Gcm::new("aes256-gcm@openssh.com", &[0; 16], &[0; IV_LEN]).is_err());
    }
}
