//! Claims written in a partner's layout: the inverse of a mapping (dates in its format,
//! amounts in its unit, our codes back to the partner's through its tables), with its
//! trailer. `warden claims generate --partner` uses it, so intake is tested on files
//! written the way the partner writes them.

use super::mapping::{Format, Mapping, MoneyUnit, Position, Source, Transform};
use crate::io::claims_csv;
use crate::model::Claim;
use crate::plans::Plans;

/// `claims` as the partner's file.
pub fn write(mapping: &Mapping, plans: &Plans, claims: &[Claim]) -> Result<Vec<u8>, String> {
    if let Format::X12_837(kind) = mapping.format {
        // An 837's layout is the implementation guide's, written by `x12_837_write`; the
        // partner's mapping reads it.
        let parties = super::x12_837_write::Parties {
            sender: "WARDENGEN".into(),
            receiver: mapping
                .partner
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(15)
                .collect(),
            control: 1,
        };
        return Ok(super::x12_837_write::write(claims, plans, &parties, kind));
    }
    let mut rows = Vec::with_capacity(claims.len());
    let mut billed_total = 0i64;
    for c in claims {
        let mut canonical = String::new();
        claims_csv::write_row(c, plans, &mut canonical);
        let values: Vec<&str> = canonical.trim_end_matches('\n').split(',').collect();
        let mut row = Vec::with_capacity(values.len());
        for (f, v) in mapping.fields.iter().zip(&values) {
            row.push(
                partner_text(f, v).map_err(|e| format!("claim {}: `{}`: {e}", c.id, f.target))?,
            );
        }
        billed_total += c.billed;
        rows.push(row);
    }
    match &mapping.format {
        Format::Csv { delimiter, header } => {
            csv_file(mapping, *delimiter, *header, &rows, billed_total)
        }
        Format::FixedWidth { header_tag } => {
            fixed_file(mapping, header_tag.as_deref(), &rows, billed_total)
        }
        Format::X12_837(_) => unreachable!("an 837 is written above"),
    }
}

/// Our text for one field, as the partner writes it.
fn partner_text(f: &super::mapping::FieldMap, ours: &str) -> Result<String, String> {
    if ours.is_empty() {
        return Ok(String::new());
    }
    let text = match &f.transform {
        Transform::Plain => ours.to_string(),
        Transform::Date(format) => chrono::NaiveDate::parse_from_str(ours, "%Y-%m-%d")
            .map_err(|e| e.to_string())?
            .format(format)
            .to_string(),
        Transform::Timestamp(format) => {
            chrono::NaiveDateTime::parse_from_str(ours, "%Y-%m-%dT%H:%M:%SZ")
                .map_err(|e| e.to_string())?
                .format(format)
                .to_string()
        }
        Transform::Money(MoneyUnit::Dollars) => ours.to_string(),
        Transform::Money(MoneyUnit::Cents) => crate::model::money::parse_money(ours)?.to_string(),
        Transform::Table(table) => table
            .iter()
            .find(|(_, v)| v.as_str() == ours)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| format!("no code of the table maps to `{ours}`"))?,
    };
    Ok(format!("{}{text}", f.strip_prefix))
}

fn csv_file(
    mapping: &Mapping,
    delimiter: u8,
    header: bool,
    rows: &[Vec<String>],
    billed_total: i64,
) -> Result<Vec<u8>, String> {
    let columns: Vec<(usize, &str)> = mapping
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.source {
            Source::Column(name) => Some((i, name.as_str())),
            _ => None,
        })
        .collect();
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true) // the trailer has fields of its own
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let fail = |e: csv::Error| e.to_string();
    if header {
        w.write_record(columns.iter().map(|(_, n)| *n))
            .map_err(fail)?;
    }
    for row in rows {
        w.write_record(columns.iter().map(|(i, _)| row[*i].as_str()))
            .map_err(fail)?;
    }
    if let Some(t) = &mapping.trailer {
        let mut fields = vec![t.tag.clone()];
        let mut put = |p: Position, text: String| {
            if let Position::Field(i) = p {
                if fields.len() <= i {
                    fields.resize(i + 1, String::new());
                }
                fields[i] = text;
            }
        };
        put(t.count, rows.len().to_string());
        if let Some(p) = t.billed_total {
            put(p, money(billed_total, t.money));
        }
        w.write_record(&fields).map_err(fail)?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

fn money(cents: i64, unit: MoneyUnit) -> String {
    match unit {
        MoneyUnit::Cents => cents.to_string(),
        MoneyUnit::Dollars => super::file::dollars(cents),
    }
}

fn fixed_file(
    mapping: &Mapping,
    header_tag: Option<&str>,
    rows: &[Vec<String>],
    billed_total: i64,
) -> Result<Vec<u8>, String> {
    let width = mapping
        .fields
        .iter()
        .filter_map(|f| match f.source {
            Source::Range { start, len } => Some(start + len),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    if let Some(tag) = header_tag {
        out.extend_from_slice(format!("{tag}{}\n", mapping.partner).as_bytes());
    }
    for row in rows {
        let mut line = vec![b' '; width];
        for (f, text) in mapping.fields.iter().zip(row) {
            if let Source::Range { start, len } = f.source {
                let cents = matches!(f.transform, Transform::Money(MoneyUnit::Cents));
                place(&mut line, start, len, text, cents)
                    .map_err(|e| format!("`{}`: {e}", f.target))?;
            }
        }
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    if let Some(t) = &mapping.trailer {
        let mut ends = vec![t.tag.len()];
        for p in [Some(t.count), t.billed_total].into_iter().flatten() {
            if let Position::Range { start, len } = p {
                ends.push(start + len);
            }
        }
        let mut line = vec![b' '; ends.into_iter().max().unwrap_or(0)];
        line[..t.tag.len()].copy_from_slice(t.tag.as_bytes());
        if let Position::Range { start, len } = t.count {
            place(&mut line, start, len, &rows.len().to_string(), true)?;
        }
        if let Some(Position::Range { start, len }) = t.billed_total {
            place(&mut line, start, len, &money(billed_total, t.money), true)?;
        }
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    Ok(out)
}

/// Puts `text` in `line[start..start+len]`: numbers right-aligned with leading zeros, text
/// left-aligned with trailing blanks; nothing (blanks) stays blank.
fn place(
    line: &mut [u8],
    start: usize,
    len: usize,
    text: &str,
    number: bool,
) -> Result<(), String> {
    if text.len() > len {
        return Err(format!("`{text}` does not fit in {len} characters"));
    }
    let field = &mut line[start..start + len];
    if text.is_empty() {
        return Ok(()); // blank: an optional field the claim does not have
    }
    if number {
        field.fill(b'0');
        field[len - text.len()..].copy_from_slice(text.as_bytes());
    } else {
        field[..text.len()].copy_from_slice(text.as_bytes());
    }
    Ok(())
}
