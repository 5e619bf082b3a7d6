//! The one CSV state machine: where a row (record) begins and ends, what its fields are,
//! and on which line it starts. The block cutter of `parallel_csv` and the threads that
//! parse its blocks both run [`Machine::step`], so a cut can only fall where the parser
//! would also see a row end.
//!
//! The dialect is RFC 4180 as the `csv` crate reads it with its defaults (a property test
//! checks that the rows are the crate's): fields are separated by `,`; a field that starts
//! with `"` is quoted until the next lone `"` (a doubled `""` inside is one `"`), and may
//! hold commas and line ends; a `"` anywhere else is an ordinary character; text after a
//! closing quote continues the field (`"ab"c` is `abc`). A row ends at a line end outside
//! quotes. An empty line is no row.
//!
//! Line ends are LF, CRLF and a lone CR (Unix, Windows and classic Mac files), each one line
//! end; line numbers count them all, inside quotes too, as an editor shows the file.

/// Where the machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a row (at the file's start or after a line end); line ends here are empty
    /// lines.
    StartRow,
    StartField,
    InField,
    InQuotes,
    /// A `"` inside quotes: a second `"` makes it one literal quote, anything else closes.
    QuoteInQuotes,
}

/// What one byte was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Part of a field's value.
    Data,
    /// An opening or closing quote (not part of the value).
    Quote,
    /// The comma ending a field.
    FieldEnd,
    /// The line end ending a row.
    RowEnd,
    /// A line end outside any row (an empty line, or the LF of a CRLF).
    Blank,
}

/// The CSV state machine, one byte at a time.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    state: State,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            state: State::StartRow,
        }
    }
}

impl Machine {
    /// True between rows: the only state a block may start in.
    pub fn between_rows(&self) -> bool {
        self.state == State::StartRow
    }

    /// True inside a row (its first byte is read, its line end is not).
    pub fn in_row(&self) -> bool {
        !self.between_rows()
    }

    pub fn step(&mut self, b: u8) -> Event {
        use State::*;
        let eol = b == b'\n' || b == b'\r';
        let (next, event) = match self.state {
            StartRow if eol => (StartRow, Event::Blank),
            StartRow | StartField if b == b'"' => (InQuotes, Event::Quote),
            StartRow | StartField | InField | QuoteInQuotes if b == b',' => {
                (StartField, Event::FieldEnd)
            }
            StartField | InField | QuoteInQuotes if eol => (StartRow, Event::RowEnd),
            StartRow | StartField | InField => (InField, Event::Data),
            InQuotes if b == b'"' => (QuoteInQuotes, Event::Quote),
            InQuotes => (InQuotes, Event::Data),
            // `""` inside quotes: the second quote is data.
            QuoteInQuotes if b == b'"' => (InQuotes, Event::Data),
            QuoteInQuotes => (InField, Event::Data),
        };
        self.state = next;
        event
    }
}

/// Line ends in `bytes`: each LF, and each CR not followed by an LF. A CR that is the last
/// byte counts (callers never split a CRLF, see [`last_cut`]).
pub fn line_ends(bytes: &[u8]) -> u64 {
    let mut n = 0u64;
    for (i, b) in bytes.iter().enumerate() {
        n += u64::from(*b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n')));
    }
    n
}

/// The longest prefix of `bytes` (which starts between rows) that ends between rows, just
/// after a whole line end: where a block may be cut. `None` if there is no such place.
///
/// A CR that is the last byte is no cut: the next byte, not read yet, may be its LF, and a
/// CRLF split over two blocks would count as two line ends.
pub fn last_cut(bytes: &[u8]) -> Option<usize> {
    let whole = |i: usize| bytes[i] == b'\n' || bytes.get(i + 1).is_some_and(|n| *n != b'\n');
    if !bytes.contains(&b'"') {
        // Without a quote the machine never leaves StartRow/StartField/InField, and every
        // line end returns it to StartRow: every line end is a cut.
        return bytes
            .iter()
            .enumerate()
            .rev()
            .find(|(i, b)| (**b == b'\n' || **b == b'\r') && whole(*i))
            .map(|(i, _)| i + 1);
    }
    let mut m = Machine::default();
    let mut last = None;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(m.step(*b), Event::RowEnd | Event::Blank) && whole(i) {
            last = Some(i + 1);
        }
    }
    last
}

/// One row: its fields' values and its bytes as read.
#[derive(Debug, Default)]
pub struct Row<'a> {
    /// The row's bytes from its first to before its line end (quotes and all).
    pub raw: &'a [u8],
    /// Where `raw` starts in the bytes read.
    pub start: usize,
    values: Vec<u8>,
    ends: Vec<usize>,
}

impl Row<'_> {
    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i`'s value (quotes removed, `""` made `"`).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.values[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// A row longer than the limit (a quote that never closes swallows the rest of the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong {
    /// Line ends before the row's first byte.
    pub line_ends_before: u64,
}

/// Reads the rows of `bytes`, which starts between rows (a file's body, or a block cut by
/// [`last_cut`]); its end ends the last row. Calls `each(line_ends_before, &row)` in order,
/// where `line_ends_before` counts the line ends of `bytes` before the row's first byte.
/// Returns the line ends of all of `bytes`, or the first row longer than `max_row` bytes
/// (rows before it were handed over).
pub fn read_rows(
    bytes: &[u8],
    max_row: usize,
    mut each: impl FnMut(u64, &Row<'_>),
) -> Result<u64, TooLong> {
    let mut m = Machine::default();
    let mut lines = 0u64;
    // Line ends before the current row's first byte, and that byte's index.
    let (mut row_lines, mut start) = (0u64, 0usize);
    let mut values = Vec::with_capacity(256);
    let mut ends = Vec::with_capacity(32);
    let finish = |start: usize, end: usize, values: &mut Vec<u8>, ends: &mut Vec<usize>| {
        ends.push(values.len());
        Row {
            raw: &bytes[start..end],
            start,
            values: std::mem::take(values),
            ends: std::mem::take(ends),
        }
    };
    for (i, &b) in bytes.iter().enumerate() {
        let began = m.between_rows();
        let event = m.step(b);
        if began && event != Event::Blank {
            row_lines = lines;
            start = i;
        }
        if m.in_row() && i - start >= max_row {
            return Err(TooLong {
                line_ends_before: row_lines,
            });
        }
        match event {
            Event::Data => values.push(b),
            Event::Quote => {}
            Event::FieldEnd => ends.push(values.len()),
            Event::RowEnd => {
                let row = finish(start, i, &mut values, &mut ends);
                each(row_lines, &row);
                values = row.values;
                ends = row.ends;
                values.clear();
                ends.clear();
            }
            Event::Blank => {}
        }
        lines += u64::from(b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')));
    }
    if m.in_row() {
        let row = finish(start, bytes.len(), &mut values, &mut ends);
        each(row_lines, &row);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<(u64, String, Vec<String>)> {
        let mut v = Vec::new();
        read_rows(text.as_bytes(), 1 << 16, |l, r| {
            v.push((
                l + 1,
                String::from_utf8_lossy(r.raw).into_owned(),
                r.iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
            ));
        })
        .expect("rows");
        v
    }

    #[test]
    fn lf_crlf_and_lone_cr_are_each_one_line_end() {
        for text in [
            "a,b\nc,d\n\ne\n",
            "a,b\r\nc,d\r\n\r\ne\r\n",
            "a,b\rc,d\r\re\r",
        ] {
            let r = rows(text);
            let lines: Vec<u64> = r.iter().map(|x| x.0).collect();
            assert_eq!(lines, [1, 2, 4], "{text:?}");
            assert_eq!(r[1].1, "c,d", "{text:?}");
            assert_eq!(line_ends(text.as_bytes()), 4, "{text:?}");
        }
    }

    #[test]
    fn quotes_hold_commas_and_line_ends_and_a_stray_quote_is_a_character() {
        let r = rows("\"1,000.00\",x\"y,\"two\r\nlines \"\"q\"\"\"\nnext\n");
        assert_eq!(r[0].0, 1);
        assert_eq!(r[0].2, ["1,000.00", "x\"y", "two\r\nlines \"q\""]);
        assert_eq!(r[0].1, "\"1,000.00\",x\"y,\"two\r\nlines \"\"q\"\"\"");
        assert_eq!((r[1].0, r[1].2.clone()), (3, vec!["next".to_string()]));
        // Text after a closing quote continues the field.
        assert_eq!(rows("\"ab\"c,d")[0].2, ["abc", "d"]);
    }

    #[test]
    fn a_cut_never_splits_a_crlf_or_a_quoted_line_end() {
        assert_eq!(last_cut(b"a\r\nb\r"), Some(3));
        assert_eq!(last_cut(b"a\rb\rc"), Some(4));
        assert_eq!(last_cut(b"\"a\nb"), None);
        assert_eq!(last_cut(b"x\"y\n\"a\nb"), Some(4));
        assert_eq!(last_cut(b"abc"), None);
    }

    #[test]
    fn a_row_longer_than_the_limit_is_named_by_its_line() {
        let text = b"a\n\nb\n\"never closed\n\n\nxxxxxxxxxxxxxxxxxxxxxxxx";
        let mut seen = 0;
        let r = read_rows(text, 16, |_, _| seen += 1);
        assert_eq!(
            r,
            Err(TooLong {
                line_ends_before: 3
            })
        );
        assert_eq!(seen, 2);
    }
}
