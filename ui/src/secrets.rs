//! Random secrets, their digests, and comparing them. Every comparison of a secret (a CSRF
//! token, a token's digest, a signed form field) goes through `same_secret`, which takes
//! the same time wherever the strings differ: a timing attacker learns nothing about how
//! much of a guess was right.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh random secret (256 bits, hex): tokens, session ids, CSRF tokens, keys.
pub fn secret() -> String {
    let bytes: [u8; 32] = rand::thread_rng().r#gen();
    hex(&bytes)
}

/// SHA-256 of a token, lowercase hex.
pub fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// HMAC-SHA256 of `message` under `key`, lowercase hex: a value only this server can make.
pub fn sign(key: &str, message: &str) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(message.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Whether two secrets are equal, in time that depends only on their lengths (which are
/// fixed for everything Warden compares: 64 hex digits).
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Whether `text` has the shape of `secret()`: 64 lowercase hex digits.
pub fn is_secret_shaped(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        let a = secret();
        assert!(is_secret_shaped(&a));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &secret()));
        assert!(!same_secret(&a[..63], &a), "a prefix is not the secret");
        assert!(!same_secret("", &a));
        assert!(same_secret("", ""));
    }

    #[test]
    fn signatures_depend_on_key_and_message() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(sign("k1", "m"), sign("k2", "m"));
        assert_ne!(sign("k", "m1"), sign("k", "m2"));
    }
}
