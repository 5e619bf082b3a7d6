//! Money is integer cents (`i64`) everywhere: no float ever touches an amount, so a
//! partitioned run and a serial run cannot differ by a rounding accident.

/// An amount in cents.
pub type Cents = i64;

/// The largest amount accepted, in whole dollars: with amounts below 10^9 dollars (10^11
/// cents), totals over 92 million claims still fit an `i64`.
pub const MAX_DOLLARS: i64 = 999_999_999;

/// Parses an amount in dollars into cents: ASCII digits, then optionally `.` and one or two
/// digits (`123`, `123.4`, `123.45`, `007.50`), surrounded by ASCII whitespace at most; at
/// most [`MAX_DOLLARS`].99. Refused, each with its reason: empty, negative, `.5`, `5.`, a
/// thousands separator, more than two decimals, too large. Claims and plans never carry
/// negative amounts.
pub fn parse_money(text: &str) -> Result<Cents, String> {
    let t = text.trim_ascii();
    if t.is_empty() {
        return Err("empty amount".into());
    }
    if t.starts_with('-') {
        return Err(format!("negative amount `{t}`"));
    }
    if t.contains(',') {
        return Err(format!(
            "`{t}` has a comma; write amounts without thousands separators (1000.00)"
        ));
    }
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.is_some_and(|f| !digits(f)) {
        return Err(format!(
            "`{t}` is not an amount (dollars and cents, e.g. 125.40)"
        ));
    }
    let frac = frac.unwrap_or("");
    if frac.len() > 2 {
        return Err(format!("`{t}` has more than two decimals"));
    }
    let significant = whole.trim_start_matches('0');
    let dollars = if significant.len() > 9 {
        None
    } else {
        significant.parse::<i64>().ok().or(Some(0))
    };
    let Some(dollars) = dollars.filter(|d| *d <= MAX_DOLLARS) else {
        return Err(format!("`{t}` is too large (at most {MAX_DOLLARS}.99)"));
    };
    let cents = match frac.as_bytes() {
        [] => 0,
        [d] => i64::from(d - b'0') * 10,
        [d, e] => i64::from(d - b'0') * 10 + i64::from(e - b'0'),
        _ => 0,
    };
    Ok(dollars * 100 + cents)
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
        for bad in [
            "-1.00", "1.234", "", "1,00", "abc", ".5", "5.", "1.2.3", "+1", "1e3",
        ] {
            assert!(parse_money(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_money(" 007.5\t"), Ok(750));
        assert_eq!(parse_money("999999999.99"), Ok(99_999_999_999));
        for big in [
            "1000000000",
            "1000000000000000.00",
            "99999999999999999999999",
        ] {
            assert_eq!(
                parse_money(big),
                Err(format!("`{big}` is too large (at most 999999999.99)"))
            );
        }
        assert!(
            parse_money("1,000.00")
                .expect_err("comma")
                .contains("has a comma")
        );
    }

    #[test]
    fn percent_rounds_half_up() {
        assert_eq!(percent_of(12345, 2000), 2469); // 2469.0
        assert_eq!(percent_of(5, 1000), 1); // 0.5 → 1
        assert_eq!(percent_of(4, 1000), 0); // 0.4 → 0
    }
}
