//! Encoder of PostgreSQL's binary `COPY ... FROM STDIN (FORMAT binary)` stream.
//!
//! Binary format (PostgreSQL docs, "COPY", "Binary Format"): an 11-byte signature, a flags
//! word and a header-extension length, then per row a 16-bit field count and per field a
//! 32-bit length (`-1` = NULL) followed by the value in the type's binary send format, then a
//! 16-bit `-1` trailer. Binary values need no escaping, which is why the bulk import uses it
//! rather than the text format (JSON and bytea would need backslash escaping there).
//!
//! Only the types the event store copies are supported: `text`, `int4`, `int8`, `uuid`,
//! `json` (the JSON text itself), `timestamptz` (microseconds since 2000-01-01 UTC) and
//! `bytea` (the raw bytes).

use crate::LedgerError;
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

/// The 11-byte signature that opens every binary COPY stream.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// A binary COPY stream being built in memory. Take filled pieces with [`Self::take_if_over`]
/// to send a large stream in bounded pieces.
#[derive(Debug)]
pub(crate) struct CopyBinaryEncoder {
    buffer: Vec<u8>,
}

impl CopyBinaryEncoder {
    /// A stream with its header written.
    pub(crate) fn new() -> Self {
        let mut buffer = Vec::with_capacity(1 << 20);
        buffer.extend_from_slice(SIGNATURE);
        buffer.extend_from_slice(&0_i32.to_be_bytes()); // flags: no OIDs
        buffer.extend_from_slice(&0_i32.to_be_bytes()); // header extension length
        Self { buffer }
    }

    /// Starts a row of `field_count` fields; exactly that many field calls must follow.
    pub(crate) fn row(&mut self, field_count: i16) {
        self.buffer.extend_from_slice(&field_count.to_be_bytes());
    }

    /// A NULL field.
    pub(crate) fn null(&mut self) {
        self.buffer.extend_from_slice(&(-1_i32).to_be_bytes());
    }

    /// A `text` (or `bytea`) field: the bytes as they are.
    pub(crate) fn bytes(&mut self, value: &[u8]) -> Result<(), LedgerError> {
        let length = field_length(value.len())?;
        self.buffer.extend_from_slice(&length.to_be_bytes());
        self.buffer.extend_from_slice(value);
        Ok(())
    }

    /// A `text` field, or NULL.
    pub(crate) fn optional_text(&mut self, value: Option<&str>) -> Result<(), LedgerError> {
        match value {
            Some(text) => self.bytes(text.as_bytes()),
            None => {
                self.null();
                Ok(())
            }
        }
    }

    /// An `int4` field.
    pub(crate) fn int4(&mut self, value: i32) {
        self.buffer.extend_from_slice(&4_i32.to_be_bytes());
        self.buffer.extend_from_slice(&value.to_be_bytes());
    }

    /// An `int8` field.
    pub(crate) fn int8(&mut self, value: i64) {
        self.buffer.extend_from_slice(&8_i32.to_be_bytes());
        self.buffer.extend_from_slice(&value.to_be_bytes());
    }

    /// A `uuid` field.
    pub(crate) fn uuid(&mut self, value: &Uuid) {
        self.buffer.extend_from_slice(&16_i32.to_be_bytes());
        self.buffer.extend_from_slice(value.as_bytes());
    }

    /// A `json` field: `value` serialized as JSON text (json's binary format is its text).
    pub(crate) fn json<T: serde::Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), LedgerError> {
        let length_at = self.buffer.len();
        self.buffer.extend_from_slice(&0_i32.to_be_bytes());
        serde_json::to_writer(&mut self.buffer, value).map_err(|error| {
            LedgerError::InvalidChunk(format!("a JSON value cannot be serialized: {error}"))
        })?;
        let length = field_length(self.buffer.len() - length_at - 4)?;
        self.buffer[length_at..length_at + 4].copy_from_slice(&length.to_be_bytes());
        Ok(())
    }

    /// A `timestamptz` field: microseconds since 2000-01-01 00:00:00 UTC (as sqlx encodes it).
    pub(crate) fn timestamptz(&mut self, value: &DateTime<Utc>) -> Result<(), LedgerError> {
        let postgres_epoch = Utc
            .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
            .single()
            .expect("2000-01-01 is a valid UTC time");
        let micros = (*value - postgres_epoch)
            .num_microseconds()
            .ok_or_else(|| LedgerError::InvalidChunk(format!("time {value} is out of range")))?;
        self.int8(micros);
        Ok(())
    }

    /// Bytes buffered so far.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Takes the buffered bytes (to send them) when they exceed `limit`, leaving the encoder
    /// empty; `None` otherwise.
    pub(crate) fn take_if_over(&mut self, limit: usize) -> Option<Vec<u8>> {
        (self.buffer.len() > limit)
            .then(|| std::mem::replace(&mut self.buffer, Vec::with_capacity(2 * limit)))
    }

    /// Ends the stream: the trailer is appended and the remaining bytes returned.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buffer.extend_from_slice(&(-1_i16).to_be_bytes());
        self.buffer
    }
}

/// A field length as the 32-bit value of the format (a field is at most 1 GB in PostgreSQL).
fn field_length(length: usize) -> Result<i32, LedgerError> {
    i32::try_from(length).map_err(|_| {
        LedgerError::InvalidChunk(format!("a field of {length} bytes is too large to copy"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_header_rows_and_trailer() {
        let mut encoder = CopyBinaryEncoder::new();
        encoder.row(3);
        encoder.bytes(b"ab").unwrap();
        encoder.null();
        encoder.int4(7);
        let bytes = encoder.finish();
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 3, 0, 0, 0, 2, b'a', b'b']);
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 7]);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn json_is_the_text_with_its_length() {
        let mut encoder = CopyBinaryEncoder::new();
        let header = encoder.len();
        encoder.json(&serde_json::json!({"a": "x\ty"})).unwrap();
        let bytes = encoder.finish();
        let field = &bytes[header..bytes.len() - 2];
        let text = br#"{"a":"x\ty"}"#;
        assert_eq!(&field[..4], &(text.len() as i32).to_be_bytes());
        assert_eq!(&field[4..], text);
    }

    #[test]
    fn timestamptz_counts_microseconds_from_2000() {
        let mut encoder = CopyBinaryEncoder::new();
        let header = encoder.len();
        let time = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap();
        encoder.timestamptz(&time).unwrap();
        let bytes = encoder.finish();
        assert_eq!(
            &bytes[header + 4..header + 12],
            &1_000_000_i64.to_be_bytes()
        );
    }
}
