//! The chaos run's summary table: label, value, and what the value means.

use std::fmt;

#[derive(Debug, Default)]
pub struct Summary {
    rows: Vec<(String, String, String)>,
}

impl Summary {
    pub fn row(&mut self, label: &str, value: impl fmt::Display, meaning: &str) -> &mut Self {
        self.rows.push((label.to_owned(), value.to_string(), meaning.to_owned()));
        self
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label_width = self.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let value_width = self.rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        for (label, value, meaning) in &self.rows {
            writeln!(f, "| {label:<label_width$} | {value:>value_width$} | {meaning}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_labels_and_values() {
        let mut summary = Summary::default();
        summary.row("sent", 12, "requests").row("parked", 3, "poison");
        assert_eq!(summary.to_string(), "| sent   | 12 | requests\n| parked |  3 | poison\n");
    }
}
