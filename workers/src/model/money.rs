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
    if cents < 0 {
        out.push('-');
    }
    let a = cents.unsigned_abs();
    push_uint(a / 100, out);
    out.push('.');
    let c = (a % 100) as u8;
    out.push(char::from(b'0' + c / 10));
    out.push(char::from(b'0' + c % 10));
}

/// Appends `n` in decimal. Output files are mostly numbers (62M result lines at
/// month-end): this skips `fmt`'s machinery, which showed in profiles.
pub fn push_uint(mut n: u64, out: &mut String) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
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
        for (cents, text) in [
            (0, "0.00"),
            (7, "0.07"),
            (-1250, "-12.50"),
            (i64::MIN, "-92233720368547758.08"),
        ] {
            let mut s = String::new();
            format_money(cents, &mut s);
            assert_eq!(s, text);
        }
        for n in [0u64, 9, 10, 4_294_967_295, u64::MAX] {
            let mut s = String::new();
            push_uint(n, &mut s);
            assert_eq!(s, n.to_string());
        }
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
