//! Money is integer cents (`i64`) everywhere: no float ever touches an amount, so a
//! partitioned run and a serial run cannot differ by a rounding accident.

/// An amount in cents.
pub type Cents = i64;

/// Parses `123`, `123.4` or `123.45` (dollars, at most two decimals) into cents.
/// Negative amounts are refused: claims and plans never carry them.
pub fn parse_money(text: &str) -> Result<Cents, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty amount".into());
    }
    if t.starts_with('-') {
        return Err(format!("negative amount `{t}`"));
    }
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 12 {
        return Err(format!(
            "`{t}` is not an amount (dollars and cents, e.g. 125.40)"
        ));
    }
    if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{t}` has more than two decimals"));
    }
    let mut cents: i64 = whole.parse::<i64>().map_err(|e| e.to_string())? * 100;
    if !frac.is_empty() {
        let f: i64 = frac
            .parse()
            .map_err(|e: std::num::ParseIntError| e.to_string())?;
        cents += if frac.len() == 1 { f * 10 } else { f };
    }
    Ok(cents)
}

/// `12345` → `123.45`; always two decimals, so output is byte-stable.
pub fn format_money(cents: Cents, out: &mut String) {
    use std::fmt::Write;
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    let _ = write!(out, "{sign}{}.{:02}", a / 100, a % 100);
}

/// `amount × percent / 100`, rounded half up to the cent (amount ≥ 0). Integer arithmetic:
/// `(amount × bp + 5000) / 10000` with the rate in basis points.
pub fn percent_of(amount: Cents, basis_points: u32) -> Cents {
    debug_assert!(amount >= 0);
    (amount * i64::from(basis_points) + 5_000) / 10_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_round_trip() {
        for (text, cents) in [("0", 0), ("1.5", 150), ("1.05", 105), ("123.45", 12345)] {
            assert_eq!(parse_money(text), Ok(cents), "{text}");
        }
        let mut s = String::new();
        format_money(105, &mut s);
        assert_eq!(s, "1.05");
        for bad in ["-1.00", "1.234", "", "1,00", "abc", ".5"] {
            assert!(parse_money(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percent_rounds_half_up() {
        assert_eq!(percent_of(12345, 2000), 2469); // 2469.0
        assert_eq!(percent_of(5, 1000), 1); // 0.5 → 1
        assert_eq!(percent_of(4, 1000), 0); // 0.4 → 0
    }
}
