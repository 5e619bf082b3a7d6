//! The one CSV scanner: where a row begins and ends, what its fields are, and on which line
//! it starts. The block cutter of `parallel_csv` ([`last_cut`]) and the threads that parse
//! its blocks ([`read_rows`]) both run `scan`, the same code over the same bytes, so a cut
//! can only fall where the parser also sees a row end.
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
//!
//! The scanner works a field at a time (find the next `,`/line end, or the next `"` inside
//! quotes, and hand over the slice), not a byte at a time: setup reads 8 GB at month-end.

/// What [`scan`] reports, in file order.
trait Sink {
    /// Bytes of the current field's value.
    fn data(&mut self, bytes: &[u8]);
    /// The current field ends.
    fn field_end(&mut self);
    /// A row from `start` to `end` (its line end excluded) ends; `lines` line ends precede
    /// it.
    fn row_end(&mut self, start: usize, end: usize, lines: u64);
    /// `at` is between rows, just after a whole line end: where a block may be cut.
    fn between(&mut self, at: usize);
}

fn is_eol(b: u8) -> bool {
    b == b'\n' || b == b'\r'
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

/// Scans `bytes`, which starts between rows; its end ends the last row. Returns the line
/// ends of `bytes`, or the first row longer than `max_row` bytes (rows before it were
/// reported).
fn scan<S: Sink>(bytes: &[u8], max_row: usize, sink: &mut S) -> Result<u64, TooLong> {
    let n = bytes.len();
    let (mut i, mut lines) = (0usize, 0u64);
    loop {
        // Between rows: line ends here are empty lines (or the one that ended the row).
        while i < n && is_eol(bytes[i]) {
            let crlf = bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n');
            let lf = bytes[i] == b'\n' || crlf;
            i += 1 + usize::from(crlf);
            lines += 1;
            // A CR as the last byte is not whole: its LF may be the next block's first byte.
            if lf || i < n {
                sink.between(i);
            }
        }
        if i >= n {
            return Ok(lines);
        }
        let (start, row_lines) = (i, lines);
        // The fields of one row.
        let end = loop {
            if bytes[i] == b'"' {
                i += 1;
                // Inside quotes, up to the closing quote (`""` is a quote and goes on).
                loop {
                    let rest = &bytes[i..];
                    let q = rest.iter().position(|b| *b == b'"').unwrap_or(rest.len());
                    sink.data(&rest[..q]);
                    lines += line_ends(&rest[..q]);
                    i += q;
                    if i >= n {
                        break;
                    }
                    i += 1;
                    if bytes.get(i) == Some(&b'"') {
                        sink.data(b"\"");
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            // Unquoted text (or text after a closing quote): a `"` here is a character.
            let rest = &bytes[i..];
            let stop = rest
                .iter()
                .position(|b| *b == b',' || is_eol(*b))
                .unwrap_or(rest.len());
            sink.data(&rest[..stop]);
            i += stop;
            sink.field_end();
            if i < n && bytes[i] == b',' {
                i += 1;
                if i < n {
                    continue;
                }
                // A comma as the file's last byte: one more, empty, field.
                sink.field_end();
            }
            break i;
        };
        if end - start > max_row {
            return Err(TooLong {
                line_ends_before: row_lines,
            });
        }
        sink.row_end(start, end, row_lines);
    }
}

/// The longest prefix of `bytes` (which starts between rows) that ends between rows, just
/// after a whole line end: where a block may be cut. `None` if there is no such place.
///
/// A CR that is the last byte is no cut: the next byte, not read yet, may be its LF, and a
/// CRLF split over two blocks would count as two line ends.
pub fn last_cut(bytes: &[u8]) -> Option<usize> {
    let whole = |i: usize| bytes[i] == b'\n' || bytes.get(i + 1).is_some_and(|n| *n != b'\n');
    if !bytes.contains(&b'"') {
        // Without a quote no field is quoted, so every line end ends a row or an empty
        // line: the last whole one is the cut [`scan`] would find, found from the end.
        return bytes
            .iter()
            .enumerate()
            .rev()
            .find(|(i, b)| is_eol(**b) && whole(*i))
            .map(|(i, _)| i + 1);
    }
    struct Cut(Option<usize>);
    impl Sink for Cut {
        fn data(&mut self, _: &[u8]) {}
        fn field_end(&mut self) {}
        fn row_end(&mut self, _: usize, _: usize, _: u64) {}
        fn between(&mut self, at: usize) {
            self.0 = Some(at);
        }
    }
    let mut cut = Cut(None);
    let _ = scan(bytes, usize::MAX, &mut cut);
    cut.0
}

/// Just past the first row's line end in `text` (a CRLF whole), or `text`'s length if the
/// first row ends with `text`; `None` for no row.
pub fn first_row_end(text: &[u8]) -> Option<usize> {
    #[derive(Default)]
    struct First {
        row: bool,
        end: Option<usize>,
    }
    impl Sink for First {
        fn data(&mut self, _: &[u8]) {}
        fn field_end(&mut self) {}
        fn row_end(&mut self, _: usize, _: usize, _: u64) {
            self.row = true;
        }
        fn between(&mut self, at: usize) {
            if self.row {
                self.end.get_or_insert(at);
            }
        }
    }
    let mut first = First::default();
    let _ = scan(text, usize::MAX, &mut first);
    first.end.or(first.row.then_some(text.len()))
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
pub fn read_rows<F: FnMut(u64, &Row<'_>)>(
    bytes: &[u8],
    max_row: usize,
    each: F,
) -> Result<u64, TooLong> {
    struct Rows<'a, F> {
        bytes: &'a [u8],
        values: Vec<u8>,
        ends: Vec<usize>,
        each: F,
    }
    impl<F: FnMut(u64, &Row<'_>)> Sink for Rows<'_, F> {
        fn data(&mut self, bytes: &[u8]) {
            self.values.extend_from_slice(bytes);
        }
        fn field_end(&mut self) {
            self.ends.push(self.values.len());
        }
        fn row_end(&mut self, start: usize, end: usize, lines: u64) {
            let row = Row {
                raw: &self.bytes[start..end],
                start,
                values: std::mem::take(&mut self.values),
                ends: std::mem::take(&mut self.ends),
            };
            (self.each)(lines, &row);
            (self.values, self.ends) = (row.values, row.ends);
            self.values.clear();
            self.ends.clear();
        }
        fn between(&mut self, _: usize) {}
    }
    let mut rows = Rows {
        bytes,
        values: Vec::with_capacity(256),
        ends: Vec::with_capacity(32),
        each,
    };
    scan(bytes, max_row, &mut rows)
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
