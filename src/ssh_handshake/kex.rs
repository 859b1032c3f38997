//! The curve25519-sha256 key exchange (RFC 8731, with RFC 5656 §4's ECDH message flow) and the
//! key derivation of RFC 4253 §7.2.
//!
//! The client sends an ephemeral X25519 public key; the server answers with its host key, its
//! own ephemeral key and a signature over the exchange hash H. Both sides then derive the same
//! shared secret K, and from K and H the cipher keys and IVs.

use super::error::Fault;
use super::wire::{Reader, Writer, msg};
use aws_lc_rs::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use sha2::{Digest, Sha256};

/// Offered key exchange methods, preferred first; the two names are the same method.
pub const KEX_ALGORITHMS: &[&str] = &["curve25519-sha256", "curve25519-sha256@libssh.org"];

/// The client's ephemeral key pair for one exchange.
pub struct Ephemeral {
    private: EphemeralPrivateKey,
    /// Q_C, the 32-byte public key sent to the server.
    pub public: Vec<u8>,
}

impl Ephemeral {
    pub fn generate() -> Result<Ephemeral, Fault> {
        let failed = |_| Fault::Protocol("could not generate an X25519 key".to_string());
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let private = EphemeralPrivateKey::generate(&X25519, &rng).map_err(failed)?;
        let public = private.compute_public_key().map_err(failed)?;
        Ok(Ephemeral {
            public: public.as_ref().to_vec(),
            private,
        })
    }

    /// SSH_MSG_KEX_ECDH_INIT.
    pub fn init_message(&self) -> Vec<u8> {
        Writer::message(msg::KEX_ECDH_INIT)
            .string(&self.public)
            .finish()
    }

    /// The shared secret K with the server's public key Q_S, encoded as an mpint (the form
    /// in which both the exchange hash and the key derivation use it). RFC 8731 §3: the 32
    /// bytes are read as a big-endian unsigned integer; an all-zero result means a bad Q_S.
    pub fn agree(self, server_public: &[u8]) -> Result<SharedSecret, Fault> {
        let bad = || {
            Fault::Protocol(
                "the server's X25519 public key is invalid (wrong length or a weak point)"
                    .to_string(),
            )
        };
        if server_public.len() != 32 {
            return Err(bad());
        }
        let peer = UnparsedPublicKey::new(&X25519, server_public);
        agreement::agree_ephemeral(self.private, peer, bad(), |k| {
            if k.iter().all(|&b| b == 0) {
                return Err(bad());
            }
            Ok(SharedSecret(Writer::default().mpint(k).finish()))
        })
    }
}

/// K, already encoded as an mpint.
pub struct SharedSecret(Vec<u8>);

/// SSH_MSG_KEX_ECDH_REPLY's fields.
pub struct EcdhReply {
    /// K_S, the server's public host key blob.
    pub host_key: Vec<u8>,
    /// Q_S, the server's ephemeral public key.
    pub server_public: Vec<u8>,
    /// The signature blob over H.
    pub signature: Vec<u8>,
}

impl EcdhReply {
    /// Parses the payload of a KEX_ECDH_REPLY (message number included).
    pub fn parse(payload: &[u8]) -> Result<EcdhReply, Fault> {
        let mut r = Reader::new(payload, "KEX_ECDH_REPLY");
        r.byte()?;
        Ok(EcdhReply {
            host_key: r.string()?.to_vec(),
            server_public: r.string()?.to_vec(),
            signature: r.string()?.to_vec(),
        })
    }
}

/// What goes into the exchange hash, in the order RFC 5656 §4 hashes it.
pub struct HashInput<'a> {
    /// V_C and V_S: the identification lines without CR LF.
    pub client_version: &'a str,
    pub server_version: &'a str,
    /// I_C and I_S: the KEXINIT payloads as sent, message number included.
    pub client_kexinit: &'a [u8],
    pub server_kexinit: &'a [u8],
    pub host_key: &'a [u8],
    pub client_public: &'a [u8],
    pub server_public: &'a [u8],
    pub shared_secret: &'a SharedSecret,
}

/// H, which the server signs and which (as the first one) is also the session id.
pub fn exchange_hash(input: &HashInput<'_>) -> [u8; 32] {
    let blob = Writer::default()
        .string(input.client_version.as_bytes())
        .string(input.server_version.as_bytes())
        .string(input.client_kexinit)
        .string(input.server_kexinit)
        .string(input.host_key)
        .string(input.client_public)
        .string(input.server_public)
        .raw(&input.shared_secret.0)
        .finish();
    Sha256::digest(&blob).into()
}

/// RFC 4253 §7.2: `len` bytes of key material for `letter` ('A' = IV client to server, 'B' =
/// IV server to client, 'C'/'D' = encryption keys): HASH(K || H || letter || session_id), then,
/// while more is needed, HASH(K || H || everything so far) appended.
pub fn derive(
    shared_secret: &SharedSecret,
    exchange_hash: &[u8],
    letter: u8,
    session_id: &[u8],
    len: usize,
) -> Vec<u8> {
    let start = Sha256::new()
        .chain_update(&shared_secret.0)
        .chain_update(exchange_hash);
    let mut out = start
        .clone()
        .chain_update([letter])
        .chain_update(session_id)
        .finalize()
        .to_vec();
    while out.len() < len {
        let more = start.clone().chain_update(&out).finalize();
        out.extend_from_slice(&more);
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// NIST CAVS 14.1 SSH KDF, SHA-256, first case (K given as its mpint encoding).
    #[test]
    fn derivation_matches_the_nist_sha256_vector() {
        let k = SharedSecret(hex(
            "0000008100875c551cef526a4a8be1a7df27e9ed354bac9afb71f53dbae905679d14f9faf2469c53457c\
             f80a366be278965ba6255276ca2d9f4a97d271f71e50d8a9ec46253a6a906ac2c5e4f48b27a63ce08d80\
             390a492aa43bad9d882ccac23dac88bcada4b4d426a362083dab6569c54c224dd2d87643aa227693e141\
             ad1630ce13144e",
        ));
        let h = hex("0e683fc8a9ed7c2ff02def23b2745ebc99b267daa86a4aa7697239088253f642");
        assert_eq!(derive(&k, &h, b'A', &h, 8), hex("41ff2ead1683f1e6"));
        assert_eq!(derive(&k, &h, b'B', &h, 8), hex("e619ecfd9edb50cd"));
        assert_eq!(
            derive(&k, &h, b'C', &h, 24),
            hex("4a6314d2f7511bf88fad39fb6892f3f218cafd530e72fe43")
        );
        assert_eq!(
            derive(&k, &h, b'E', &h, 32),
            hex("41ec5a94fecce7707ea156a6ad29239a891621adacbedb8be70675008d6f9274")
        );
    }

    #[test]
    fn longer_keys_are_extended_with_hash_of_k_h_and_what_came_before() {
        let k = SharedSecret(Writer::default().mpint(&[0x99; 32]).finish());
        let (h, session) = ([1u8; 32], [2u8; 32]);
        let long = derive(&k, &h, b'C', &session, 40);
        let k1 = derive(&k, &h, b'C', &session, 32);
        assert_eq!(long[..32], k1[..]);
        let k2 = Sha256::new()
            .chain_update(&k.0)
            .chain_update(h)
            .chain_update(&k1)
            .finalize();
        assert_eq!(long[32..], k2[..8]);
    }

    #[test]
    fn both_sides_agree_and_a_zero_point_is_refused() {
        let client = Ephemeral::generate().unwrap();
        let server = Ephemeral::generate().unwrap();
        let (client_public, server_public) = (client.public.clone(), server.public.clone());
        let a = client.agree(&server_public).unwrap();
        let b = server.agree(&client_public).unwrap();
        assert_eq!(a.0, b.0);

        let init = Ephemeral::generate().unwrap();
        assert_eq!(init.init_message()[..5], [msg::KEX_ECDH_INIT, 0, 0, 0, 32]);
        assert!(init.agree(&[0; 32]).is_err(), "small-order point");
        assert!(Ephemeral::generate().unwrap().agree(&[9; 31]).is_err());
    }
}
