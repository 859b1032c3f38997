//! SSH's binary data types (RFC 4251 §5) and the message numbers this client speaks.
//!
//! Everything after the identification lines is built from six types: byte, boolean, uint32,
//! string, mpint and name-list. [`Writer`] appends them to a buffer; [`Reader`] takes them off a
//! payload the server sent, and every overrun or malformed field is an error rather than a
//! panic, because those bytes come from the network.

use super::error::Fault;

/// Message numbers (RFC 4250 §4.1.2, RFC 5656 §7.1 for the ECDH pair, RFC 8308 for EXT_INFO).
pub mod msg {
    pub const DISCONNECT: u8 = 1;
    pub const IGNORE: u8 = 2;
    pub const UNIMPLEMENTED: u8 = 3;
    pub const DEBUG: u8 = 4;
    pub const SERVICE_REQUEST: u8 = 5;
    pub const SERVICE_ACCEPT: u8 = 6;
    pub const EXT_INFO: u8 = 7;
    pub const KEXINIT: u8 = 20;
    pub const NEWKEYS: u8 = 21;
    pub const KEX_ECDH_INIT: u8 = 30;
    pub const KEX_ECDH_REPLY: u8 = 31;
    pub const USERAUTH_REQUEST: u8 = 50;
    pub const USERAUTH_FAILURE: u8 = 51;
    pub const USERAUTH_SUCCESS: u8 = 52;
    pub const USERAUTH_BANNER: u8 = 53;
}

/// Builds a message (or any other SSH-encoded blob, such as the exchange-hash input).
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A message payload, which always starts with its number.
    pub fn message(number: u8) -> Writer {
        Writer { buf: vec![number] }
    }

    pub fn byte(mut self, b: u8) -> Writer {
        self.buf.push(b);
        self
    }

    pub fn raw(mut self, bytes: &[u8]) -> Writer {
        self.buf.extend_from_slice(bytes);
        self
    }

    pub fn boolean(self, b: bool) -> Writer {
        self.byte(u8::from(b))
    }

    pub fn u32(mut self, n: u32) -> Writer {
        self.buf.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// A length-prefixed byte string. Everything this client sends is far below 4 GiB.
    pub fn string(self, s: &[u8]) -> Writer {
        let len = u32::try_from(s.len()).expect("SSH strings built here are small");
        self.u32(len).raw(s)
    }

    /// Comma-separated names, as a string.
    pub fn name_list(self, names: &[&str]) -> Writer {
        self.string(names.join(",").as_bytes())
    }

    /// A non-negative integer given as big-endian magnitude bytes, in two's complement with
    /// the fewest bytes: leading zeros dropped, one zero added back when the top bit is set (so
    /// it does not read as negative), and zero itself as the empty string.
    pub fn mpint(self, magnitude: &[u8]) -> Writer {
        let first = magnitude
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(magnitude.len());
        let digits = &magnitude[first..];
        if digits.first().is_some_and(|&b| b & 0x80 != 0) {
            let len = u32::try_from(digits.len() + 1).expect("small integers only");
            self.u32(len).byte(0).raw(digits)
        } else {
            self.string(digits)
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads the fields of one payload from the server, front to back.
pub struct Reader<'a> {
    rest: &'a [u8],
    /// What is being read, for error messages ("KEXINIT").
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { rest: bytes, what }
    }

    fn malformed(&self, detail: &str) -> Fault {
        Fault::Protocol(format!("the server's {} is malformed: {detail}", self.what))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Fault> {
        if n > self.rest.len() {
            return Err(self.malformed("it ends in the middle of a field"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub fn byte(&mut self) -> Result<u8, Fault> {
        Ok(self.take(1)?[0])
    }

    pub fn boolean(&mut self) -> Result<bool, Fault> {
        Ok(self.byte()? != 0)
    }

    pub fn u32(&mut self) -> Result<u32, Fault> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn string(&mut self) -> Result<&'a [u8], Fault> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    /// A string meant for people (a disconnect reason): shown even when it is not UTF-8.
    pub fn text(&mut self) -> Result<String, Fault> {
        Ok(String::from_utf8_lossy(self.string()?).into_owned())
    }

    /// A string that must be an exact name (an algorithm), hence UTF-8.
    pub fn name(&mut self) -> Result<&'a str, Fault> {
        let bytes = self.string()?;
        std::str::from_utf8(bytes).map_err(|_| self.malformed("a name is not UTF-8"))
    }

    /// A name-list; the empty string is the empty list.
    pub fn name_list(&mut self) -> Result<Vec<String>, Fault> {
        let list = self.name()?;
        if list.is_empty() {
            return Ok(Vec::new());
        }
        Ok(list.split(',').map(str::to_string).collect())
    }

    /// A non-negative mpint, as its magnitude without leading zeros (empty for zero).
    pub fn mpint(&mut self) -> Result<&'a [u8], Fault> {
        let bytes = self.string()?;
        if bytes.first().is_some_and(|&b| b & 0x80 != 0) {
            return Err(self.malformed("an integer that must be positive is negative"));
        }
        let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        Ok(&bytes[first..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_integers_are_length_prefixed_big_endian() {
        let bytes = Writer::default()
            .u32(0x0102_0304)
            .string(b"ssh")
            .boolean(true)
            .finish();
        assert_eq!(bytes, [1, 2, 3, 4, 0, 0, 0, 3, b's', b's', b'h', 1]);
        let mut r = Reader::new(&bytes, "test");
        assert_eq!(r.u32().unwrap(), 0x0102_0304);
        assert_eq!(r.string().unwrap(), b"ssh");
        assert!(r.boolean().unwrap());
        assert!(r.byte().is_err(), "reading past the end is an error");
    }

    #[test]
    fn mpints_follow_rfc_4251_examples() {
        let encode = |magnitude: &[u8]| Writer::default().mpint(magnitude).finish();
        // RFC 4251 §5: 0, 0x9a378f9b2e332a7, 0x80 and a value with leading zeros.
        assert_eq!(encode(&[]), [0, 0, 0, 0]);
        assert_eq!(
            encode(&[0, 0]),
            [0, 0, 0, 0],
            "zero is empty however it is given"
        );
        assert_eq!(
            encode(&[0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7]),
            [0, 0, 0, 8, 0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7]
        );
        assert_eq!(
            encode(&[0x80]),
            [0, 0, 0, 2, 0, 0x80],
            "high bit gets a zero"
        );
        assert_eq!(
            encode(&[0, 0, 0x7f]),
            [0, 0, 0, 1, 0x7f],
            "leading zeros dropped"
        );

        let bytes = encode(&[0x80, 1]);
        assert_eq!(Reader::new(&bytes, "t").mpint().unwrap(), [0x80, 1]);
        let negative = [0, 0, 0, 1, 0xff];
        assert!(Reader::new(&negative, "t").mpint().is_err());
    }

    #[test]
    fn name_lists_are_comma_separated() {
        let bytes = Writer::default()
            .name_list(&["zlib", "none"])
            .name_list(&[])
            .finish();
        assert_eq!(&bytes[..13], b"\0\0\0\x09zlib,none");
        let mut r = Reader::new(&bytes, "t");
        assert_eq!(r.name_list().unwrap(), ["zlib", "none"]);
        assert!(r.name_list().unwrap().is_empty());
    }

    #[test]
    fn a_length_beyond_the_payload_is_an_error_not_a_panic() {
        let bytes = [0xff, 0xff, 0xff, 0xff, b'x'];
        let err = Reader::new(&bytes, "KEXINIT").string().unwrap_err();
        assert!(err.to_string().contains("KEXINIT"), "{err}");
    }
}
