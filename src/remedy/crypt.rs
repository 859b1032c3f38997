//! sha512-crypt (`$6$`) password hashes, made on the client: the plaintext password is an input
//! to this function and goes nowhere else, so it never crosses the console.
//!
//! The `sha-crypt` crate computes the digest; the `$6$…` string is assembled here with glibc's
//! byte order and alphabet so that any salt string works, including one read back from the
//! guest's shadow entry. Hashing the requested password with the account's *current* salt is
//! how an operation tells, without the current hash ever leaving the guest, that the password
//! is already the requested one (and changes nothing).

use crate::secret::Secret;
use rand::Rng;
use sha_crypt::Params;

/// crypt's base-64 alphabet.
const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// glibc takes at most 16 salt characters.
const SALT_LEN: usize = 16;

/// The cost of a new hash: twenty times glibc's default of 5,000 rounds, which was set for the
/// machines of 2007 (about 50 ms here in a release build).
const NEW_ROUNDS: u32 = 100_000;

/// The most rounds a salt read from the guest may ask for: the guest chooses them, and a
/// billion rounds would keep a thread busy for minutes. A costlier hash is not compared with;
/// the password is simply set again.
const MAX_GUEST_ROUNDS: u32 = 1_000_000;

/// The salt part of a `$6$` hash, with its rounds when they are not the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CryptSalt {
    rounds: Option<u32>,
    salt: String,
}

impl CryptSalt {
    /// 16 characters from a cryptographically secure generator.
    pub(crate) fn random() -> Self {
        let mut rng = rand::rng();
        let salt = (0..SALT_LEN)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        CryptSalt {
            rounds: Some(NEW_ROUNDS),
            salt,
        }
    }

    /// The salt of a hash prefix `$6$[rounds=N$]SALT$` (what the guest reports), or `None` for
    /// anything else: another algorithm, a locked or empty password, more than
    /// [`MAX_GUEST_ROUNDS`].
    pub(crate) fn parse(prefix: &str) -> Option<Self> {
        let rest = prefix.trim().strip_prefix("$6$")?.strip_suffix('$')?;
        let (rounds, salt) = match rest.split_once('$') {
            Some((params, salt)) => (Some(params.strip_prefix("rounds=")?.parse().ok()?), salt),
            None => (None, rest),
        };
        let valid = !salt.is_empty()
            && salt.bytes().all(|b| ALPHABET.contains(&b))
            && rounds.is_none_or(|r| r <= MAX_GUEST_ROUNDS);
        valid.then(|| CryptSalt {
            rounds,
            salt: salt.chars().take(SALT_LEN).collect(),
        })
    }
}

/// The `$6$` crypt string of `password` with `salt`, held as a [`Secret`] so that it never
/// shows in a log line.
pub(crate) fn sha512_crypt(password: &Secret, salt: &CryptSalt) -> Secret {
    let rounds = salt
        .rounds
        .unwrap_or(Params::RECOMMENDED_ROUNDS)
        .clamp(Params::ROUNDS_MIN, Params::ROUNDS_MAX);
    let params = Params::new(rounds).expect("rounds are clamped into the valid range");
    let digest =
        sha_crypt::sha512_crypt(password.expose().as_bytes(), salt.salt.as_bytes(), params);
    let mut hash = String::from("$6$");
    if salt.rounds.is_some() {
        hash.push_str(&format!("rounds={rounds}$"));
    }
    hash.push_str(&salt.salt);
    hash.push('$');
    hash.push_str(&encode(&digest));
    Secret::new(hash)
}

/// glibc's encoding of the 64-byte digest: 21 groups of three bytes (bytes i, i+21, i+42,
/// rotated by i mod 3), then the last byte; each group least significant six bits first.
fn encode(digest: &[u8; 64]) -> String {
    let mut out = String::with_capacity(86);
    let mut push = |b2: u8, b1: u8, b0: u8, chars: usize| {
        let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
        for _ in 0..chars {
            out.push(char::from(ALPHABET[(w & 0x3f) as usize]));
            w >>= 6;
        }
    };
    for i in 0..21 {
        let group = [i, i + 21, i + 42];
        let r = i % 3;
        push(
            digest[group[r]],
            digest[group[(r + 1) % 3]],
            digest[group[(r + 2) % 3]],
            4,
        );
    }
    push(0, 0, digest[63], 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha_crypt::{PasswordVerifier, ShaCrypt};

    fn hash(password: &str, prefix: &str) -> String {
        let salt = CryptSalt::parse(prefix).expect("valid prefix");
        sha512_crypt(&Secret::new(password), &salt)
            .expose()
            .to_string()
    }

    #[test]
    fn matches_the_published_test_vectors() {
        // From Ulrich Drepper's specification of SHA-crypt.
        assert_eq!(
            hash("Hello world!", "$6$saltstring$"),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            hash("Hello world!", "$6$rounds=10000$saltstringsaltstring$"),
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
        );
    }

    #[test]
    fn random_salts_verify_with_the_crate_and_differ() {
        let password = Secret::new("correct horse battery staple");
        let (a, b) = (CryptSalt::random(), CryptSalt::random());
        assert_ne!(a, b);
        let hashed = sha512_crypt(&password, &a);
        assert!(hashed.expose().starts_with("$6$rounds=100000$"));
        ShaCrypt::SHA512
            .verify_password(password.expose().as_bytes(), hashed.expose())
            .expect("the crate verifies our hash");
        assert!(
            !format!("{hashed:?}").contains("$6$"),
            "Debug hides the hash"
        );
    }

    #[test]
    fn only_sha512_prefixes_are_salts() {
        for other in [
            "",
            "!",
            "*",
            "$y$j9T$abc$",
            "$5$abc$",
            "$6$$",
            "$6$rounds=x$abc$",
            "$6$rounds=999999999$abc$",
        ] {
            assert_eq!(CryptSalt::parse(other), None, "{other:?}");
        }
    }
}
