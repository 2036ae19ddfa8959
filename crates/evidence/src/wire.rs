//! JSON shapes every collector's `wire.rs` shares: the list page of ARM and the Key Vault data plane, and
//! deserializers that accept what Azure means even when it is spelt loosely (numbers sent as strings, booleans
//! sent as `"true"`). Anything else is still an error: a value of the wrong kind is reported, not silently
//! dropped. Use them as `#[serde(default, deserialize_with = "evidence::wire::opt_bool")]`.

use serde::Deserialize;

/// One page of a list response (ARM or Key Vault data plane). Items stay raw JSON so the I/O layer converts
/// them one by one and a malformed item costs that item only.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Page {
    /// The items of this page.
    pub value: Option<Vec<serde_json::Value>>,
    /// URL of the next page; absent or null on the last one.
    #[serde(rename = "nextLink")]
    pub next_link: Option<String>,
}

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Unexpected, Visitor};

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, or \"true\"/\"false\"")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

struct I64Visitor;

impl<'de> Visitor<'de> for I64Visitor {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, or a string holding one")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v).map(Some).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // `90.0` is 90; `90.5` is not a day count.
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
            Ok(Some(v as i64))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<i64>().map(Some).map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

struct F64Visitor;

impl<'de> Visitor<'de> for F64Visitor {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, or a string holding one")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(None);
        }
        match t.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// An optional boolean, also accepted as the strings `"true"` / `"false"`.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_option(BoolVisitor)
}

/// An optional integer, also accepted as a string or an integral float.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_option(I64Visitor)
}

/// An optional number (Key Vault epoch seconds, `1493937.61`), also accepted as a string.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_option(F64Visitor)
}

/// `Some(text)` unless the text is absent or blank: Azure sends `""` for "not set" (e.g. storage `keyversion`).
pub fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.trim().is_empty())
}

/// What to call a JSON item in an error message: its `key` field (`id`, `kid`, ...), else its `name`, else a
/// placeholder saying neither was there.
pub fn item_label(item: &serde_json::Value, key: &str) -> String {
    let text = |k: &str| item.get(k).and_then(|v| v.as_str()).filter(|s| !s.trim().is_empty());
    match (text(key), text("name")) {
        (Some(id), _) => id.to_string(),
        (None, Some(name)) => format!("named {name:?} (no {key})"),
        (None, None) => format!("(no {key}, no name)"),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Loose {
        #[serde(default, deserialize_with = "super::opt_bool")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "super::opt_i64")]
        days: Option<i64>,
        #[serde(default, deserialize_with = "super::opt_f64")]
        created: Option<f64>,
    }

    fn parse(json: &str) -> Result<Loose, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn loose_spellings_are_read_and_absence_stays_none() {
        let l = parse(r#"{"flag":"True","days":"90","created":"1493937.61"}"#).unwrap();
        assert_eq!((l.flag, l.days, l.created), (Some(true), Some(90), Some(1_493_937.61)));
        let l = parse(r#"{"flag":false,"days":90.0,"created":1493937}"#).unwrap();
        assert_eq!((l.flag, l.days, l.created), (Some(false), Some(90), Some(1_493_937.0)));
        let l = parse(r#"{"flag":null}"#).unwrap();
        assert_eq!((l.flag, l.days, l.created), (None, None, None));
    }

    #[test]
    fn wrong_kinds_are_errors_not_none() {
        assert!(parse(r#"{"flag":"yes"}"#).is_err());
        assert!(parse(r#"{"days":90.5}"#).is_err());
        assert!(parse(r#"{"days":[1]}"#).is_err());
    }

    #[test]
    fn labels_and_blanks() {
        assert_eq!(super::item_label(&serde_json::json!({"id": "/x", "name": "n"}), "id"), "/x");
        assert_eq!(super::item_label(&serde_json::json!({"id": " ", "name": "n"}), "id"), "named \"n\" (no id)");
        assert_eq!(super::item_label(&serde_json::json!({}), "kid"), "(no kid, no name)");
        assert_eq!(super::non_empty(Some("  ")), None);
        assert_eq!(super::non_empty(Some("v1")), Some("v1"));
    }

    #[test]
    fn pages_keep_items_raw() {
        let page: super::Page = serde_json::from_str(r#"{"value":[{"id":1},"odd"],"nextLink":null}"#).unwrap();
        assert_eq!(page.value.map(|v| v.len()), Some(2));
        assert_eq!(page.next_link, None);
    }
}
