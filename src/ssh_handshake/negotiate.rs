//! Algorithm negotiation (RFC 4253 §7.1): the KEXINIT this client sends, the server's KEXINIT,
//! and for each slot the first algorithm of the client's list that the server also lists.
//!
//! The offer is deliberately small: one key exchange method, the host key types OpenSSH
//! generates, and AES-GCM only. Neither `ext-info-c` nor OpenSSH's strict-kex marker is offered,
//! since the handshake neither needs server extensions nor re-keys.

use super::cipher::CIPHERS;
use super::error::Fault;
use super::hostkey::HOST_KEY_ALGORITHMS;
use super::kex::KEX_ALGORITHMS;
use super::wire::{Reader, Writer, msg};

/// Listed because the slot may not be empty; AES-GCM carries its own authentication, so no MAC
/// is ever negotiated or used (as in OpenSSH, which skips the MAC for AEAD ciphers).
const MACS: &[&str] = &["hmac-sha2-256"];
const COMPRESSION: &[&str] = &["none"];

/// This client's KEXINIT payload (I_C in the exchange hash), with a fresh random cookie.
pub fn client_kexinit() -> Result<Vec<u8>, Fault> {
    let mut cookie = [0u8; 16];
    aws_lc_rs::rand::fill(&mut cookie)
        .map_err(|_| Fault::Protocol("no random bytes for the KEXINIT cookie".to_string()))?;
    Ok(Writer::message(msg::KEXINIT)
        .raw(&cookie)
        .name_list(KEX_ALGORITHMS)
        .name_list(HOST_KEY_ALGORITHMS)
        .name_list(CIPHERS)
        .name_list(CIPHERS)
        .name_list(MACS)
        .name_list(MACS)
        .name_list(COMPRESSION)
        .name_list(COMPRESSION)
        .name_list(&[])
        .name_list(&[])
        .boolean(false)
        .u32(0)
        .finish())
}

/// The server's KEXINIT, as far as this client cares.
#[derive(Debug)]
pub struct ServerOffer {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub cipher_c2s: Vec<String>,
    pub cipher_s2c: Vec<String>,
    pub compression_c2s: Vec<String>,
    pub compression_s2c: Vec<String>,
    /// The server already sent a guessed key exchange packet.
    pub first_kex_packet_follows: bool,
}

impl ServerOffer {
    /// Parses a KEXINIT payload (message number included).
    pub fn parse(payload: &[u8]) -> Result<ServerOffer, Fault> {
        let mut r = Reader::new(payload, "KEXINIT");
        r.byte()?;
        for _ in 0..16 {
            r.byte()?; // cookie
        }
        let kex = r.name_list()?;
        let host_key = r.name_list()?;
        let cipher_c2s = r.name_list()?;
        let cipher_s2c = r.name_list()?;
        r.name_list()?; // MACs: not used with AEAD ciphers
        r.name_list()?;
        let compression_c2s = r.name_list()?;
        let compression_s2c = r.name_list()?;
        r.name_list()?; // languages
        r.name_list()?;
        Ok(ServerOffer {
            kex,
            host_key,
            cipher_c2s,
            cipher_s2c,
            compression_c2s,
            compression_s2c,
            first_kex_packet_follows: r.boolean()?,
        })
    }
}

/// What both sides agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    pub kex: String,
    pub host_key: String,
    pub cipher_c2s: String,
    pub cipher_s2c: String,
}

impl Agreed {
    /// RFC 4253 §7: a guessed packet from the server is to be ignored unless its guess (its
    /// first key exchange and host key algorithm) is what was agreed.
    pub fn server_guessed_wrong(&self, server: &ServerOffer) -> bool {
        server.kex.first() != Some(&self.kex) || server.host_key.first() != Some(&self.host_key)
    }
}

pub fn negotiate(server: &ServerOffer) -> Result<Agreed, Fault> {
    choose(
        "compression (client to server)",
        COMPRESSION,
        &server.compression_c2s,
    )?;
    choose(
        "compression (server to client)",
        COMPRESSION,
        &server.compression_s2c,
    )?;
    Ok(Agreed {
        kex: choose("key exchange", KEX_ALGORITHMS, &server.kex)?,
        host_key: choose("host key", HOST_KEY_ALGORITHMS, &server.host_key)?,
        cipher_c2s: choose("cipher (client to server)", CIPHERS, &server.cipher_c2s)?,
        cipher_s2c: choose("cipher (server to client)", CIPHERS, &server.cipher_s2c)?,
    })
}

/// The first of `client`'s algorithms that `server` also supports.
fn choose(what: &'static str, client: &[&str], server: &[String]) -> Result<String, Fault> {
    client
        .iter()
        .find(|c| server.iter().any(|s| s == *c))
        .map(|c| c.to_string())
        .ok_or_else(|| Fault::NoCommonAlgorithm {
            what,
            client: client.iter().map(|c| c.to_string()).collect(),
            server: server.to_vec(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &str) -> Vec<String> {
        list.split(',').map(str::to_string).collect()
    }

    /// An offer shaped like OpenSSH's, with a different cipher per direction to tell them apart.
    fn openssh() -> ServerOffer {
        ServerOffer {
            kex: names(
                "sntrup761x25519-sha512@openssh.com,curve25519-sha256,\
                 curve25519-sha256@libssh.org,ecdh-sha2-nistp256,kex-strict-s-v00@openssh.com",
            ),
            host_key: names("rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"),
            cipher_c2s: names(
                "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com,\
                 aes128-gcm@openssh.com",
            ),
            cipher_s2c: names("aes256-gcm@openssh.com"),
            compression_c2s: names("none,zlib@openssh.com"),
            compression_s2c: names("none,zlib@openssh.com"),
            first_kex_packet_follows: false,
        }
    }

    #[test]
    fn the_client_preference_wins_among_what_the_server_supports() {
        let agreed = negotiate(&openssh()).unwrap();
        assert_eq!(
            agreed,
            Agreed {
                kex: "curve25519-sha256".into(),
                host_key: "ssh-ed25519".into(),
                cipher_c2s: "aes128-gcm@openssh.com".into(),
                cipher_s2c: "aes256-gcm@openssh.com".into(),
            }
        );
        assert!(agreed.server_guessed_wrong(&openssh()));
    }

    #[test]
    fn no_common_algorithm_lists_both_sides() {
        let mut server = openssh();
        server.cipher_c2s = names("aes128-ctr,aes256-ctr");
        match negotiate(&server) {
            Err(Fault::NoCommonAlgorithm {
                what,
                client,
                server,
            }) => {
                assert_eq!(what, "cipher (client to server)");
                assert_eq!(client, CIPHERS);
                assert_eq!(server, ["aes128-ctr", "aes256-ctr"]);
            }
            other => panic!("{other:?}"),
        }
        let mut zlib_only = openssh();
        zlib_only.compression_s2c = names("zlib");
        assert!(negotiate(&zlib_only).is_err());
    }

    #[test]
    fn our_kexinit_parses_back_to_our_offer() {
        let ours = client_kexinit().unwrap();
        assert_eq!(ours[0], msg::KEXINIT);
        let parsed = ServerOffer::parse(&ours).unwrap();
        assert_eq!(parsed.kex, KEX_ALGORITHMS);
        assert_eq!(parsed.host_key, HOST_KEY_ALGORITHMS);
        assert_eq!(parsed.cipher_s2c, CIPHERS);
        assert!(!parsed.first_kex_packet_follows);
        assert_ne!(
            ours[1..17],
            client_kexinit().unwrap()[1..17],
            "fresh cookie"
        );
        assert!(ServerOffer::parse(&ours[..40]).is_err());
    }
}
