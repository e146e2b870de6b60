//! Spreadsheet import: turns an uploaded CSV or ODS file into validated
//! [`NewItem`] rows for [`Items::import`](super::Items::import).
//!
//! Layout, for both formats: the first row is the header; a `part_number`
//! column is required, `description` is optional (default ""), and every
//! other named column becomes a string property, omitted where the cell is
//! empty. Rows whose cells are all empty are skipped. Row numbers in errors
//! are 1-based data rows, the header excluded.

use std::collections::HashSet;
use std::io::Cursor;

use calamine::{Data, Ods, Reader, open_workbook_from_rs};
use serde_json::{Map, Value};

use super::model::NewItem;

/// Most data rows one import may hold.
pub const MAX_ROWS: usize = 10_000;

/// Why an uploaded file could not be turned into rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The CSV is not UTF-8 text.
    #[error("file is not valid utf-8 text")]
    NotUtf8,
    /// The CSV reader failed.
    #[error("malformed csv: {0}")]
    Malformed(String),
    /// The bytes are not an ODS spreadsheet.
    #[error("file is not an ods spreadsheet")]
    NotOds,
    /// The header has no `part_number` column.
    #[error("missing required column part_number")]
    MissingPartNumber,
    /// Two header cells have the same name.
    #[error("duplicate column {0}")]
    DuplicateColumn(String),
    /// There is no data row.
    #[error("no rows")]
    NoRows,
    /// There are more than [`MAX_ROWS`] data rows.
    #[error("too many rows: at most 10000 are allowed")]
    TooManyRows,
    /// A CSV row has a different number of fields than the header.
    #[error("row {row}: expected {expected} fields, found {found}")]
    FieldCount {
        /// 1-based data row.
        row: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// A data row is invalid.
    #[error("row {row}: {message}")]
    Row {
        /// 1-based data row.
        row: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// Parses a CSV file (UTF-8, optional BOM, LF or CRLF line ends).
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<NewItem>, ImportError> {
    // Spreadsheet programs often start UTF-8 exports with a BOM; left in, it
    // would become part of the first header name.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(ImportError::NotUtf8);
    }
    // `flexible` lets us report field-count mismatches ourselves, by data row
    // rather than by byte position.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        Some(record) => record.map_err(csv_error)?,
        None => return Err(ImportError::NoRows),
    };
    let table = Table::new(header.iter().map(str::to_string).collect())?;
    let mut rows = Vec::new();
    for (index, record) in records.enumerate() {
        let row = index + 1;
        if row > MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        let record = record.map_err(csv_error)?;
        if record.len() != table.width() {
            return Err(ImportError::FieldCount {
                row,
                expected: table.width(),
                found: record.len(),
            });
        }
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if let Some(item) = table.row(row, cells)? {
            rows.push(item);
        }
    }
    finish(rows)
}

/// Parses the first sheet of an ODS file. Numbers become their shortest text
/// form (`12`, `1.5`), booleans `true`/`false`, dates their ISO 8601 text.
pub fn parse_ods(bytes: &[u8]) -> Result<Vec<NewItem>, ImportError> {
    let mut workbook: Ods<_> =
        open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| ImportError::NotOds)?;
    let range = match workbook.worksheet_range_at(0) {
        Some(range) => range.map_err(|_| ImportError::NotOds)?,
        None => return Err(ImportError::NoRows),
    };
    let mut sheet_rows = range.rows();
    let header = match sheet_rows.next() {
        Some(cells) => cells
            .iter()
            .map(|cell| cell_text(cell).unwrap_or_default())
            .collect(),
        None => return Err(ImportError::NoRows),
    };
    let table = Table::new(header)?;
    let mut rows = Vec::new();
    for (index, cells) in sheet_rows.enumerate() {
        let row = index + 1;
        // Sheets often carry formatted but empty rows at the bottom; only
        // rows with content count towards the limit.
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        if row > MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        let cells = cells
            .iter()
            .map(|cell| cell_text(cell).map_err(|message| ImportError::Row { row, message }))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(item) = table.row(row, cells)? {
            rows.push(item);
        }
    }
    finish(rows)
}

/// The text of one ODS cell; an empty cell is "".
fn cell_text(cell: &Data) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        // Rust prints floats in their shortest round-trip form, and whole
        // numbers without a fraction: 12.0 → "12", 1.5 → "1.5".
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.to_string(),
        Data::Error(e) => return Err(format!("cell holds an error value ({e})")),
    })
}

/// A CSV reader error, which after the UTF-8 check is a structural problem.
fn csv_error(error: csv::Error) -> ImportError {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => ImportError::NotUtf8,
        _ => ImportError::Malformed(error.to_string()),
    }
}

/// An import with no data row is an error, not a no-op, because it is almost
/// always the wrong file.
fn finish(rows: Vec<NewItem>) -> Result<Vec<NewItem>, ImportError> {
    if rows.is_empty() {
        return Err(ImportError::NoRows);
    }
    Ok(rows)
}

/// What a column holds.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    /// The part number.
    PartNumber,
    /// The description.
    Description,
    /// A property of this name.
    Property(String),
    /// A column without a header, which must stay empty.
    Unnamed,
}

/// The column layout read from the header row.
#[derive(Debug)]
struct Table {
    columns: Vec<Column>,
}

impl Table {
    /// Reads the header: names are trimmed, must be unique, and must include
    /// `part_number`.
    fn new(header: Vec<String>) -> Result<Table, ImportError> {
        let mut seen = HashSet::new();
        let mut columns = Vec::with_capacity(header.len());
        for name in header {
            let name = name.trim();
            if name.is_empty() {
                columns.push(Column::Unnamed);
                continue;
            }
            if !seen.insert(name.to_string()) {
                return Err(ImportError::DuplicateColumn(name.to_string()));
            }
            columns.push(match name {
                "part_number" => Column::PartNumber,
                "description" => Column::Description,
                _ => Column::Property(name.to_string()),
            });
        }
        if !columns.contains(&Column::PartNumber) {
            return Err(ImportError::MissingPartNumber);
        }
        Ok(Table { columns })
    }

    /// Number of columns in the header.
    fn width(&self) -> usize {
        self.columns.len()
    }

    /// Turns one data row into a validated item, or `None` for a row whose
    /// cells are all empty. Cells past the header's width must be empty.
    fn row(&self, row: usize, cells: Vec<String>) -> Result<Option<NewItem>, ImportError> {
        if cells.iter().all(|c| c.trim().is_empty()) {
            return Ok(None);
        }
        let mut part_number = String::new();
        let mut description = String::new();
        let mut properties = Map::new();
        for (index, cell) in cells.into_iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            match self.columns.get(index) {
                Some(Column::PartNumber) => part_number = cell,
                Some(Column::Description) => description = cell,
                Some(Column::Property(name)) => {
                    properties.insert(name.clone(), Value::String(cell));
                }
                Some(Column::Unnamed) | None => {
                    return Err(ImportError::Row {
                        row,
                        message: format!("column {} has a value but no header", index + 1),
                    });
                }
            }
        }
        let item = NewItem {
            part_number,
            description,
            properties,
        };
        item.validate().map_err(|e| ImportError::Row {
            row,
            message: e.to_string(),
        })?;
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn prop<'a>(item: &'a NewItem, key: &str) -> Option<&'a str> {
        item.properties.get(key).and_then(Value::as_str)
    }

    #[test]
    fn csv_basic_layout() {
        let rows = parse_csv(b" part_number , description,colour,size\nA-1,bolt,red,\nA-2,,,M4\n")
            .expect("parse");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].part_number, "A-1");
        assert_eq!(rows[0].description, "bolt");
        assert_eq!(prop(&rows[0], "colour"), Some("red"));
        assert_eq!(prop(&rows[0], "size"), None, "empty cell is omitted");
        assert_eq!(rows[1].description, "");
        assert_eq!(rows[1].properties.len(), 1);
        assert_eq!(prop(&rows[1], "size"), Some("M4"));
    }

    #[test]
    fn csv_description_is_optional() {
        let rows = parse_csv(b"colour,part_number\nred,X\n").expect("parse");
        assert_eq!(rows[0].part_number, "X");
        assert_eq!(rows[0].description, "");
        assert_eq!(prop(&rows[0], "colour"), Some("red"));
    }

    #[test]
    fn csv_quotes_bom_and_crlf() {
        let csv = "\u{feff}part_number,description,note\r\n\
                   A,\"bolt, hex\",\"line one\r\nline two\"\r\n\
                   B,\"say \"\"hi\"\"\",x\r\n";
        let rows = parse_csv(csv.as_bytes()).expect("parse");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].part_number, "A");
        assert_eq!(rows[0].description, "bolt, hex");
        assert_eq!(prop(&rows[0], "note"), Some("line one\r\nline two"));
        assert_eq!(rows[1].description, "say \"hi\"");
        // The BOM did not end up in the first header name.
        assert!(rows[1].properties.keys().all(|k| k == "note"));
    }

    #[test]
    fn csv_header_errors() {
        assert_eq!(
            parse_csv(b"description,colour\nx,y\n"),
            Err(ImportError::MissingPartNumber)
        );
        assert_eq!(
            parse_csv(b"part_number,colour, colour\nA,x,y\n"),
            Err(ImportError::DuplicateColumn("colour".into()))
        );
        assert_eq!(parse_csv(b""), Err(ImportError::NoRows));
        assert_eq!(parse_csv(b"\xEF\xBB\xBF"), Err(ImportError::NoRows));
        assert_eq!(
            parse_csv(b"part_number,description\n"),
            Err(ImportError::NoRows)
        );
        assert_eq!(
            parse_csv(b"part_number,description\n,\n"),
            Err(ImportError::NoRows)
        );
    }

    #[test]
    fn csv_row_errors_name_the_data_row() {
        assert_eq!(
            parse_csv(b"part_number,description\nA,x\nB\n"),
            Err(ImportError::FieldCount {
                row: 2,
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            parse_csv(b"part_number,description\nA,x\nB,y,z\n").map_err(|e| e.to_string()),
            Err("row 2: expected 2 fields, found 3".to_string())
        );
        match parse_csv(b"part_number,description\nA,x\n\"B\nC\",y\nbad part,z\n") {
            Err(ImportError::Row { row, message }) => {
                // A quoted newline does not shift the count: it is row 2 that
                // fails, on its part number.
                assert_eq!(row, 2);
                assert!(message.starts_with("part_number"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            parse_csv(b"part_number,,colour\nA,oops,red\n"),
            Err(ImportError::Row {
                row: 1,
                message: "column 2 has a value but no header".into()
            })
        );
        // An unnamed column that stays empty is fine.
        assert_eq!(parse_csv(b"part_number,\nA,\n").expect("parse").len(), 1);
        let long = format!("part_number,description\nA,{}\n", "x".repeat(1025));
        assert!(matches!(
            parse_csv(long.as_bytes()),
            Err(ImportError::Row { row: 1, .. })
        ));
    }

    #[test]
    fn csv_encoding_and_limits() {
        assert_eq!(
            parse_csv(b"part_number,description\nA,caf\xE9\n"),
            Err(ImportError::NotUtf8)
        );
        let mut csv = String::from("part_number\n");
        for n in 0..MAX_ROWS {
            csv.push_str(&format!("P{n}\n"));
        }
        assert_eq!(parse_csv(csv.as_bytes()).expect("parse").len(), MAX_ROWS);
        csv.push_str("ONE-MORE\n");
        assert_eq!(parse_csv(csv.as_bytes()), Err(ImportError::TooManyRows));
    }

    /// One ODS cell for [`ods`].
    enum Cell {
        Text(&'static str),
        Number(&'static str),
        Empty,
    }

    /// Builds a minimal ODS file, one `table-row` per entry of `rows`.
    fn ods(rows: &[Vec<Cell>]) -> Vec<u8> {
        let mut body = String::new();
        for row in rows {
            body.push_str("<table:table-row>");
            for cell in row {
                match cell {
                    Cell::Text(t) => body.push_str(&format!(
                        r#"<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#
                    )),
                    Cell::Number(n) => body.push_str(&format!(
                        r#"<table:table-cell office:value-type="float" office:value="{n}"><text:p>{n}</text:p></table:table-cell>"#
                    )),
                    Cell::Empty => body.push_str("<table:table-cell/>"),
                }
            }
            body.push_str("</table:table-row>");
        }
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Sheet1">{body}</table:table></office:spreadsheet></office:body></office:document-content>"#
        );
        let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;

        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        // ODS requires `mimetype` first and uncompressed.
        zip.start_file("mimetype", stored).expect("zip");
        zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
            .expect("zip");
        zip.start_file("META-INF/manifest.xml", deflated)
            .expect("zip");
        zip.write_all(manifest.as_bytes()).expect("zip");
        zip.start_file("content.xml", deflated).expect("zip");
        zip.write_all(content.as_bytes()).expect("zip");
        zip.finish().expect("zip").into_inner()
    }

    #[test]
    fn ods_two_rows_with_numbers_and_trailing_empty_row() {
        use Cell::*;
        let file = ods(&[
            vec![
                Text("part_number"),
                Text("description"),
                Text("qty"),
                Text("weight"),
            ],
            vec![Text("A-1"), Text("bolt"), Number("12"), Number("1.5")],
            vec![Number("42"), Empty, Empty, Text("heavy")],
            vec![Empty, Empty, Empty, Empty],
        ]);
        let rows = parse_ods(&file).expect("parse");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].part_number, "A-1");
        assert_eq!(rows[0].description, "bolt");
        assert_eq!(prop(&rows[0], "qty"), Some("12"));
        assert_eq!(prop(&rows[0], "weight"), Some("1.5"));
        assert_eq!(rows[1].part_number, "42");
        assert_eq!(rows[1].description, "");
        assert_eq!(prop(&rows[1], "qty"), None);
        assert_eq!(prop(&rows[1], "weight"), Some("heavy"));
    }

    #[test]
    fn ods_layout_errors() {
        use Cell::*;
        let missing = ods(&[vec![Text("description")], vec![Text("x")]]);
        assert_eq!(parse_ods(&missing), Err(ImportError::MissingPartNumber));
        let header_only = ods(&[vec![Text("part_number")]]);
        assert_eq!(parse_ods(&header_only), Err(ImportError::NoRows));
        let bad_row = ods(&[
            vec![Text("part_number")],
            vec![Text("A")],
            vec![Text("b c")],
        ]);
        assert!(matches!(
            parse_ods(&bad_row),
            Err(ImportError::Row { row: 2, .. })
        ));
    }

    #[test]
    fn garbage_is_not_ods() {
        assert_eq!(
            parse_ods(b"definitely not a spreadsheet"),
            Err(ImportError::NotOds)
        );
        assert_eq!(parse_ods(b""), Err(ImportError::NotOds));
        assert_eq!(
            parse_ods(b"part_number,description\nA,x\n"),
            Err(ImportError::NotOds)
        );
    }
}
