//! SHA-256 as lower-case hex, the form manifests store and errors show.

use sha2::{Digest, Sha256};

/// A running SHA-256 with the byte count beside it: both are what a manifest entry holds.
#[derive(Debug, Default, Clone)]
pub(crate) struct Hasher {
    sha: Sha256,
    size: u64,
}

impl Hasher {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// `(size, sha256 hex)`.
    pub(crate) fn finish(self) -> (u64, String) {
        (self.size, hex(&self.sha.finalize()))
    }
}

/// The size and SHA-256 of a byte slice.
pub(crate) fn of(bytes: &[u8]) -> (u64, String) {
    let mut h = Hasher::default();
    h.update(bytes);
    h.finish()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Whether `s` looks like a SHA-256 in our form: 64 lower-case hex digits.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            of(b""),
            (
                0,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()
            )
        );
        assert_eq!(
            of(b"abc").1,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn chunked_equals_whole() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut h = Hasher::default();
        for chunk in data.chunks(333) {
            h.update(chunk);
        }
        assert_eq!(h.finish(), of(&data));
    }

    #[test]
    fn sha256_shape() {
        assert!(is_sha256_hex(&of(b"x").1));
        assert!(!is_sha256_hex(&of(b"x").1.to_uppercase()));
        assert!(!is_sha256_hex("abc"));
    }
}
