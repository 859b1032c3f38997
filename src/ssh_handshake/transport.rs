//! SSH's binary packet protocol (RFC 4253 §6): framing and padding, clear text until NEWKEYS
//! and AES-GCM after, and the messages any layer may receive at any time (IGNORE, DEBUG,
//! EXT_INFO, USERAUTH_BANNER are skipped; DISCONNECT ends the exchange with its reason).
//!
//! Packets from the server are refused above [`MAX_PACKET`] bytes, so a hostile or broken peer
//! cannot make the client allocate without bound.

use super::cipher::{self, Gcm};
use super::error::Fault;
use super::wire::{Reader, msg};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The largest packet_length accepted from the server.
pub const MAX_PACKET: usize = 256 * 1024;
/// RFC 4253 §6: at least four bytes of random padding.
const MIN_PADDING: usize = 4;
/// The block size before encryption (RFC 4253 §6: 8 or the cipher's, whichever is larger).
const CLEAR_BLOCK: usize = 8;

/// One direction of the connection.
#[derive(Default)]
struct Direction {
    /// Packets so far, counted since the start of the connection (RFC 4253 §6.4). GCM does not
    /// use it; error messages name packets by it.
    seq: u32,
    cipher: Option<Gcm>,
}

pub struct Transport<S> {
    stream: BufReader<S>,
    send: Direction,
    recv: Direction,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport<S> {
    /// Takes over a stream whose identification lines have been exchanged; anything already
    /// buffered is the start of the first packet.
    pub fn new(stream: BufReader<S>) -> Transport<S> {
        Transport {
            stream,
            send: Direction::default(),
            recv: Direction::default(),
        }
    }

    /// From now on, packets sent are encrypted (after sending NEWKEYS).
    pub fn encrypt_outgoing(&mut self, cipher: Gcm) {
        self.send.cipher = Some(cipher);
    }

    /// From now on, packets received are decrypted (after receiving NEWKEYS).
    pub fn decrypt_incoming(&mut self, cipher: Gcm) {
        self.recv.cipher = Some(cipher);
    }

    pub async fn send(&mut self, payload: &[u8]) -> Result<(), Fault> {
        let packet = frame(payload, self.send.cipher.as_mut())?;
        self.send.seq = self.send.seq.wrapping_add(1);
        let stream = self.stream.get_mut();
        stream.write_all(&packet).await?;
        stream.flush().await?;
        Ok(())
    }

    /// The next message for the handshake: skips what carries no meaning here and turns a
    /// DISCONNECT or UNIMPLEMENTED from the server into an error. Never empty.
    pub async fn receive(&mut self) -> Result<Vec<u8>, Fault> {
        loop {
            let payload = self.receive_packet().await?;
            match payload[0] {
                msg::IGNORE | msg::DEBUG | msg::EXT_INFO | msg::USERAUTH_BANNER => continue,
                msg::DISCONNECT => {
                    let mut r = Reader::new(&payload[1..], "DISCONNECT");
                    return Err(Fault::Disconnected {
                        code: r.u32()?,
                        description: r.text()?,
                    });
                }
                msg::UNIMPLEMENTED => {
                    let rejected = Reader::new(&payload[1..], "UNIMPLEMENTED").u32()?;
                    return Err(Fault::Protocol(format!(
                        "the server did not understand our packet #{rejected}"
                    )));
                }
                _ => return Ok(payload),
            }
        }
    }

    /// The error for a message that should not have come now.
    pub fn unexpected(&self, payload: &[u8], expected: &str) -> Fault {
        Fault::Protocol(format!(
            "expected {expected}, but the server's packet #{} is message {}",
            self.recv.seq.wrapping_sub(1),
            payload[0]
        ))
    }

    /// Sends a last message and closes our side, for a polite goodbye.
    pub async fn close(mut self, last: &[u8]) -> Result<(), Fault> {
        self.send(last).await?;
        self.stream.get_mut().shutdown().await?;
        Ok(())
    }

    async fn receive_packet(&mut self) -> Result<Vec<u8>, Fault> {
        let mut length = [0u8; 4];
        self.stream.read_exact(&mut length).await?;
        let packet_length = u32::from_be_bytes(length) as usize;
        let tag_len = if self.recv.cipher.is_some() {
            cipher::TAG_LEN
        } else {
            0
        };
        if !(MIN_PADDING + 1..=MAX_PACKET).contains(&packet_length) {
            return Err(Fault::Protocol(format!(
                "the server sent a packet of {packet_length} bytes (at most {MAX_PACKET} are \
                 accepted); the stream is out of step or not SSH"
            )));
        }
        let mut body = vec![0u8; packet_length + tag_len];
        self.stream.read_exact(&mut body).await?;
        self.recv.seq = self.recv.seq.wrapping_add(1);
        let plain = match self.recv.cipher.as_mut() {
            Some(gcm) => gcm.open(length, &mut body)?,
            None => &body[..],
        };
        let padding = usize::from(plain[0]);
        if padding < MIN_PADDING || padding + 1 >= plain.len() {
            return Err(Fault::Protocol(format!(
                "the server sent a packet with {padding} bytes of padding in {packet_length}"
            )));
        }
        Ok(plain[1..plain.len() - padding].to_vec())
    }
}

/// How much padding a payload of `len` bytes needs: at least [`MIN_PADDING`], and enough that
/// the padded part is a whole number of blocks. Before encryption the 4-byte length counts
/// towards the blocks; with AES-GCM it does not, since it is sent in clear.
fn padding_len(payload_len: usize, encrypted: bool) -> usize {
    let (block, covered) = if encrypted {
        (cipher::BLOCK, 1 + payload_len)
    } else {
        (CLEAR_BLOCK, 4 + 1 + payload_len)
    };
    let mut padding = block - covered % block;
    if padding < MIN_PADDING {
        padding += block;
    }
    padding
}

/// One packet on the wire: length, padding length, payload, random padding, and the tag when
/// encrypted.
fn frame(payload: &[u8], cipher: Option<&mut Gcm>) -> Result<Vec<u8>, Fault> {
    let padding = padding_len(payload.len(), cipher.is_some());
    let mut body = Vec::with_capacity(1 + payload.len() + padding + cipher::TAG_LEN);
    body.push(u8::try_from(padding).expect("padding is below 32"));
    body.extend_from_slice(payload);
    let start = body.len();
    body.resize(start + padding, 0);
    aws_lc_rs::rand::fill(&mut body[start..])
        .map_err(|_| Fault::Protocol("no random bytes for padding".to_string()))?;
    let length = u32::try_from(body.len())
        .map_err(|_| Fault::Protocol("a message too large to send".to_string()))?
        .to_be_bytes();
    if let Some(gcm) = cipher {
        gcm.seal(length, &mut body)?;
    }
    let mut packet = Vec::with_capacity(4 + body.len());
    packet.extend_from_slice(&length);
    packet.extend_from_slice(&body);
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncWriteExt, DuplexStream, duplex};

    #[test]
    fn padding_fills_whole_blocks_with_at_least_four_bytes() {
        for len in 0..100 {
            let clear = padding_len(len, false);
            assert!((4..4 + 8).contains(&clear), "{len}: {clear}");
            assert_eq!((4 + 1 + len + clear) % 8, 0, "{len}");
            let sealed = padding_len(len, true);
            assert!((4..4 + 16).contains(&sealed), "{len}: {sealed}");
            assert_eq!((1 + len + sealed) % 16, 0, "{len}");
        }
        // A 1-byte NEWKEYS: 4 + 1 + 1 = 6, so 2 would fill the block but 10 are needed.
        assert_eq!(padding_len(1, false), 10);
        assert_eq!(padding_len(11, true), 4);
    }

    fn pair() -> (Transport<DuplexStream>, Transport<DuplexStream>) {
        let (a, b) = duplex(1 << 20);
        (
            Transport::new(BufReader::new(a)),
            Transport::new(BufReader::new(b)),
        )
    }

    fn gcm() -> Gcm {
        Gcm::new("aes256-gcm@openssh.com", &[5; 32], &[6; 12]).unwrap()
    }

    #[tokio::test]
    async fn packets_cross_in_clear_then_encrypted_skipping_ignorable_messages() {
        let (mut client, mut server) = pair();
        client.send(&[msg::IGNORE, 1, 2]).await.unwrap();
        client.send(&[msg::KEXINIT, 9]).await.unwrap();
        assert_eq!(server.receive().await.unwrap(), [msg::KEXINIT, 9]);

        client.encrypt_outgoing(gcm());
        server.decrypt_incoming(gcm());
        let long = vec![msg::SERVICE_REQUEST; 1000];
        client.send(&long).await.unwrap();
        client.send(&[msg::DEBUG, 0]).await.unwrap();
        client.send(&[msg::SERVICE_ACCEPT]).await.unwrap();
        assert_eq!(server.receive().await.unwrap(), long);
        assert_eq!(server.receive().await.unwrap(), [msg::SERVICE_ACCEPT]);
        assert_eq!(server.recv.seq, 5, "every packet counts, skipped ones too");
    }

    #[tokio::test]
    async fn a_disconnect_carries_its_reason() {
        let (mut client, mut server) = pair();
        let disconnect = super::super::wire::Writer::message(msg::DISCONNECT)
            .u32(14)
            .string(b"No more authentication methods")
            .string(b"")
            .finish();
        client.send(&disconnect).await.unwrap();
        match server.receive().await {
            Err(Fault::Disconnected { code, description }) => {
                assert_eq!(
                    (code, description.as_str()),
                    (14, "No more authentication methods")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn oversized_and_tampered_packets_are_refused() {
        let (a, mut raw) = duplex(1 << 16);
        let mut receiver = Transport::new(BufReader::new(a));
        raw.write_all(&(MAX_PACKET as u32 + 1).to_be_bytes())
            .await
            .unwrap();
        let err = receiver.receive().await.unwrap_err();
        assert!(err.to_string().contains("at most 262144"), "{err}");

        let (mut client, mut server) = pair();
        client.encrypt_outgoing(gcm());
        server.decrypt_incoming(Gcm::new("aes256-gcm@openssh.com", &[4; 32], &[6; 12]).unwrap());
        client.send(&[msg::SERVICE_ACCEPT]).await.unwrap();
        let err = server.receive().await.unwrap_err();
        assert!(err.to_string().contains("AES-GCM"), "{err}");
    }
}
