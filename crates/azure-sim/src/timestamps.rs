//! Time as the simulator reads it from scenarios (RFC 3339 strings, ISO 8601 durations) and writes it the way
//! each Azure surface does (ARM: 7 fractional digits and `Z`; Key Vault: epoch seconds).

use std::fmt;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A point in time written in a scenario as an RFC 3339 string, e.g. `"2026-11-23T10:15:00Z"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Timestamp(pub(crate) OffsetDateTime);

impl TryFrom<String> for Timestamp {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(|t| Timestamp(t.to_offset(UtcOffset::UTC)))
            .map_err(|e| format!("'{text}' is not an RFC 3339 timestamp like \"2026-11-23T10:15:00Z\" ({e})"))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&arm(self.0))
    }
}

/// An ISO 8601 duration written in a scenario (`"P90D"`, `"P1Y"`, `"PT36H"`), kept verbatim for output and
/// approximated (year = 365 days, month = 30 days) for arithmetic.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct IsoDuration {
    pub(crate) text: String,
    pub(crate) approx: Duration,
}

impl TryFrom<String> for IsoDuration {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        parse_iso_duration(&text)
            .map(|approx| IsoDuration { text: text.clone(), approx })
            .ok_or_else(|| format!("'{text}' is not an ISO 8601 duration like \"P90D\", \"P1Y\" or \"PT36H\""))
    }
}

impl fmt::Debug for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parse `PnYnMnWnDTnHnMnS` (integers only) into an approximate duration.
pub(crate) fn parse_iso_duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' if !in_time && number.is_empty() => in_time = true,
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                total += match (in_time, unit) {
                    (false, 'Y') => Duration::days(365 * n),
                    (false, 'M') => Duration::days(30 * n),
                    (false, 'W') => Duration::weeks(n),
                    (false, 'D') => Duration::days(n),
                    (true, 'H') => Duration::hours(n),
                    (true, 'M') => Duration::minutes(n),
                    (true, 'S') => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    (any && number.is_empty()).then_some(total)
}

/// ARM's timestamp format: `2019-12-13T20:36:23.7023290Z` (seven fractional digits, UTC).
pub(crate) fn arm(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

/// Entra ID's timestamp format in error descriptions: `2026-11-23 10:15:00Z`.
pub(crate) fn entra(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Key Vault's timestamp format: whole seconds since the Unix epoch.
pub(crate) fn epoch(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_iso_duration("P90D"), Some(Duration::days(90)));
        assert_eq!(parse_iso_duration("P1Y"), Some(Duration::days(365)));
        assert_eq!(parse_iso_duration("PT36H"), Some(Duration::hours(36)));
        assert_eq!(parse_iso_duration("P1Y10D"), Some(Duration::days(375)));
        assert_eq!(parse_iso_duration("P"), None);
        assert_eq!(parse_iso_duration("90D"), None);
        assert_eq!(parse_iso_duration("P9"), None);
    }

    #[test]
    fn arm_format_has_seven_digits() {
        let t = time::macros::datetime!(2019-12-13 20:36:23.702329 UTC);
        assert_eq!(arm(t), "2019-12-13T20:36:23.7023290Z");
    }
}
