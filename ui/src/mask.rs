//! Member identities in free text a viewer sees. Log tails, operators' reasons,
//! acknowledgement notes, delivery errors and the UI's own audit details are written by
//! people and programs that may name a member or a claim; a viewer (the one role without
//! `Permission::Unmasked`) gets every such text through `Masking::text`, pages and API
//! alike, so there is one rule and one place it is applied.

use crate::auth::{Permission, Principal};

/// Member identities in text: digit runs of six or more (member, claim and subscriber
/// numbers) become `******`. Times, counts and job ids have shorter runs and stay.
pub fn mask_identities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 6 {
            out.push_str("******");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// How a reader sees free text: masked (viewers, and anyone not signed in) or as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Masking {
    Masked,
    Unmasked,
}

impl Masking {
    pub fn for_reader(who: &Principal) -> Self {
        if who.may(Permission::Unmasked) {
            Masking::Unmasked
        } else {
            Masking::Masked
        }
    }

    /// Free text as this reader may see it.
    pub fn text(self, text: &str) -> String {
        match self {
            Masking::Masked => mask_identities(text),
            Masking::Unmasked => text.to_string(),
        }
    }

    pub fn optional(self, text: Option<&str>) -> Option<String> {
        text.map(|t| self.text(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_see_long_digit_runs_masked() {
        assert_eq!(
            mask_identities("member 12345678 claim 9876543 at 02:30, 42 rows"),
            "member ****** claim ****** at 02:30, 42 rows"
        );
        assert_eq!(mask_identities("123456"), "******");
        assert_eq!(mask_identities("12345"), "12345");
        assert_eq!(Masking::Masked.text("M00123456"), "M******");
        assert_eq!(Masking::Unmasked.text("M00123456"), "M00123456");
        assert_eq!(Masking::Masked.optional(None), None);
    }
}
