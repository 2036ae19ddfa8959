//! UTC timestamps with microsecond precision, and the parsers for the several formats Azure uses:
//! RFC 3339 with or without fractional seconds (up to 7 digits from .NET), with `Z`, an offset, or no zone at
//! all (read as UTC), and Key Vault's epoch seconds (sometimes with a fraction).

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A point in time, UTC, microseconds since the Unix epoch. This is what every timestamp column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From microseconds since the Unix epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded towards negative infinity).
    pub const fn seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// From Key Vault's epoch seconds, which may carry a fraction (`1493937.61`). Returns `None` for values that
    /// are not finite or are out of range.
    pub fn from_epoch_seconds(seconds: f64) -> Option<Self> {
        if !seconds.is_finite() {
            return None;
        }
        let micros = (seconds * 1_000_000.0).round();
        // Key Vault times are well inside ±10^4 years; anything else is garbage, not a time.
        if micros.abs() > 3.2e17 {
            return None;
        }
        Some(Self(micros as i64))
    }

    /// From an `OffsetDateTime`, converted to UTC.
    pub fn from_datetime(dt: OffsetDateTime) -> Self {
        let nanos = dt.to_offset(UtcOffset::UTC).unix_timestamp_nanos();
        Self((nanos.div_euclid(1_000)) as i64)
    }

    /// As an `OffsetDateTime` in UTC.
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Parses an ARM timestamp. Accepts RFC 3339 (any number of fractional digits, `Z` or an offset) and the
    /// zone-less form some resource providers send, which is UTC. Returns `None` when the text is not a time.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Ok(dt) = OffsetDateTime::parse(text, &Rfc3339) {
            return Some(Self::from_datetime(dt));
        }
        // Zone-less: append `Z` and retry, so the fractional-seconds handling stays RFC 3339's.
        let with_zone = format!("{text}Z");
        if let Ok(dt) = OffsetDateTime::parse(&with_zone, &Rfc3339) {
            return Some(Self::from_datetime(dt));
        }
        // Space instead of `T`, as in some older payloads.
        let with_t = with_zone.replacen(' ', "T", 1);
        OffsetDateTime::parse(&with_t, &Rfc3339).ok().map(Self::from_datetime).or_else(|| {
            PrimitiveDateTime::parse(text, &time::format_description::well_known::Iso8601::DEFAULT)
                .ok()
                .map(|p| Self::from_datetime(p.assume_utc()))
        })
    }

    /// A compact UTC form used for snapshot ids: `20261123T101500Z`.
    pub fn snapshot_id(self) -> String {
        let dt = self.to_datetime();
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }

    /// Parses a snapshot id (`20261123T101500Z`) back into a timestamp.
    pub fn parse_snapshot_id(id: &str) -> Option<Self> {
        let b = id.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let rfc = format!("{}-{}-{}T{}:{}:{}Z", &id[0..4], &id[4..6], &id[6..8], &id[9..11], &id[11..13], &id[13..15]);
        Self::parse(&rfc)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime().format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}µs", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_formats_azure_sends() {
        let seven = Timestamp::parse("2017-06-01T02:42:41.7633306Z").unwrap();
        assert_eq!(seven.to_string(), "2017-06-01T02:42:41.76333Z");
        let plain = Timestamp::parse("2018-10-30T00:25:34Z").unwrap();
        assert_eq!(plain.seconds(), 1_540_859_134);
        let offset = Timestamp::parse("2018-10-30T02:25:34+02:00").unwrap();
        assert_eq!(offset, plain);
        let zoneless = Timestamp::parse("2019-12-13T20:36:23.7023290").unwrap();
        assert_eq!(zoneless, Timestamp::parse("2019-12-13T20:36:23.702329Z").unwrap());
        assert_eq!(Timestamp::parse(""), None);
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn epoch_seconds_keep_fractions() {
        assert_eq!(Timestamp::from_epoch_seconds(1_493_937.61).unwrap().micros(), 1_493_937_610_000);
        assert_eq!(Timestamp::from_epoch_seconds(f64::NAN), None);
        assert_eq!(Timestamp::from_epoch_seconds(1e300), None);
    }

    #[test]
    fn snapshot_ids_round_trip() {
        let t = Timestamp::parse("2026-11-23T10:15:00Z").unwrap();
        assert_eq!(t.snapshot_id(), "20261123T101500Z");
        assert_eq!(Timestamp::parse_snapshot_id("20261123T101500Z"), Some(t));
        assert_eq!(Timestamp::parse_snapshot_id("2026-11-23"), None);
    }
}
