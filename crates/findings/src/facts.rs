//! The `evidence` column of a finding: `table.column=value` facts copied from the rows a rule decided on, null
//! written `null`, so that an auditor can find every fact again in the package.

use evidence::Timestamp;

/// How many dependent rows (bindings of a vault or key) a finding lists before it only counts the rest.
pub(crate) const MAX_LISTED: usize = 10;

/// A value as it appears in a fact.
pub(crate) trait FactValue {
    /// The text after `=`.
    fn fact_text(&self) -> String;
}

impl FactValue for str {
    fn fact_text(&self) -> String {
        self.to_string()
    }
}

impl FactValue for String {
    fn fact_text(&self) -> String {
        self.clone()
    }
}

impl FactValue for bool {
    fn fact_text(&self) -> String {
        self.to_string()
    }
}

impl FactValue for i64 {
    fn fact_text(&self) -> String {
        self.to_string()
    }
}

impl FactValue for Timestamp {
    fn fact_text(&self) -> String {
        self.to_string()
    }
}

/// Lists are written `[a,b]`, so that an empty list (`[]`) differs from null.
impl FactValue for Vec<String> {
    fn fact_text(&self) -> String {
        format!("[{}]", self.join(","))
    }
}

impl<T: FactValue + ?Sized> FactValue for &T {
    fn fact_text(&self) -> String {
        (**self).fact_text()
    }
}

impl<T: FactValue> FactValue for Option<T> {
    fn fact_text(&self) -> String {
        self.as_ref().map_or_else(|| "null".to_string(), FactValue::fact_text)
    }
}

/// The facts of one finding, in the order the rule adds them.
#[derive(Debug, Default)]
pub(crate) struct Facts(Vec<String>);

impl Facts {
    pub(crate) fn new() -> Self {
        Facts(Vec::new())
    }

    /// Adds `table.column=value`.
    pub(crate) fn add(mut self, table: &str, column: &str, value: impl FactValue) -> Self {
        self.0.push(format!("{table}.{column}={}", value.fact_text()));
        self
    }

    /// Adds `table.column=value` for each value, listing at most [`MAX_LISTED`] and then how many more there are.
    pub(crate) fn add_list<'a>(mut self, table: &str, column: &str, values: impl IntoIterator<Item = &'a str>) -> Self {
        let values: Vec<&str> = values.into_iter().collect();
        for v in values.iter().take(MAX_LISTED) {
            self.0.push(format!("{table}.{column}={v}"));
        }
        if values.len() > MAX_LISTED {
            self.0.push(format!("{table}.{column}=… and {} more", values.len() - MAX_LISTED));
        }
        self
    }

    pub(crate) fn into_vec(self) -> Vec<String> {
        self.0
    }
}
