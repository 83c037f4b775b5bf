//! Shopify's search syntax (the `query:` argument), for the fields Xeno filters on:
//! `updated_at:>'2026-11-01T00:00:00Z' AND created_at:<=2026-11-20 status:active`.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A timestamp comparison on `created_at`, `updated_at` or `processed_at`.
    Time {
        field: String,
        op: Op,
        at: DateTime<Utc>,
    },
    /// An exact (case-insensitive) match such as `status:active` or `email:a@b.c`.
    Equals { field: String, value: String },
}

/// A parsed query: all terms must hold. Unknown fields are ignored, as free text is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub terms: Vec<Term>,
}

fn split_terms(query: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in query.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            (None, c) => current.push(c),
        }
    }
    if !current.is_empty() {
        terms.push(current);
    }
    terms
}

fn parse_time(value: &str, timezone: Tz) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Some(at.with_timezone(&Utc));
    }
    // A bare date or a local date-time means the shop's time zone.
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return timezone
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            .map(|at| at.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .and_then(|local| timezone.from_local_datetime(&local).earliest())
        .map(|at| at.with_timezone(&Utc))
}

impl Search {
    pub fn parse(query: Option<&str>, timezone: Tz) -> Result<Self, String> {
        let mut terms = Vec::new();
        for raw in split_terms(query.unwrap_or_default()) {
            if raw.eq_ignore_ascii_case("AND") {
                continue;
            }
            if raw.eq_ignore_ascii_case("OR") {
                return Err("OR is not supported by the simulator".to_owned());
            }
            let Some((field, rest)) = raw.split_once(':') else {
                continue;
            };
            let field = field.to_ascii_lowercase();
            let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
                (Op::Ge, v)
            } else if let Some(v) = rest.strip_prefix("<=") {
                (Op::Le, v)
            } else if let Some(v) = rest.strip_prefix('>') {
                (Op::Gt, v)
            } else if let Some(v) = rest.strip_prefix('<') {
                (Op::Lt, v)
            } else {
                (Op::Eq, rest)
            };
            let value = value.trim_matches(|c| c == '\'' || c == '"');
            match field.as_str() {
                "created_at" | "updated_at" | "processed_at" => {
                    let at = parse_time(value, timezone)
                        .ok_or_else(|| format!("invalid date {value:?} for {field}"))?;
                    terms.push(Term::Time { field, op, at });
                }
                "status" | "email" | "financial_status" | "test" => {
                    terms.push(Term::Equals {
                        field,
                        value: value.to_ascii_lowercase(),
                    });
                }
                _ => {}
            }
        }
        Ok(Self { terms })
    }

    /// Whether a record matches: `time` gives a timestamp field, `text` an exact field.
    pub fn matches(
        &self,
        time: impl Fn(&str) -> Option<DateTime<Utc>>,
        text: impl Fn(&str) -> Option<String>,
    ) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Time { field, op, at } => time(field).is_some_and(|value| match op {
                Op::Lt => value < *at,
                Op::Le => value <= *at,
                Op::Gt => value > *at,
                Op::Ge => value >= *at,
                Op::Eq => value == *at,
            }),
            Term::Equals { field, value } => {
                text(field).is_none_or(|actual| actual.eq_ignore_ascii_case(value))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_and_equality() {
        let search = Search::parse(
            Some("updated_at:>'2026-11-01T00:00:00Z' AND created_at:<=2026-11-20 status:ACTIVE title:mug"),
            chrono_tz::America::New_York,
        )
        .unwrap();
        assert_eq!(search.terms.len(), 3);
        assert_eq!(
            search.terms[1],
            Term::Time {
                field: "created_at".to_owned(),
                op: Op::Le,
                // Midnight in New York is 05:00 UTC in November.
                at: "2026-11-20T05:00:00Z".parse().unwrap(),
            }
        );
        let at: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let gt = Search::parse(Some("updated_at:>'2026-11-01T00:00:00Z'"), chrono_tz::UTC).unwrap();
        assert!(!gt.matches(|_| Some(at), |_| None), "strictly after");
        let ge = Search::parse(Some("updated_at:>=2026-11-01T00:00:00Z"), chrono_tz::UTC).unwrap();
        assert!(ge.matches(|_| Some(at), |_| None), "at or after");
        assert!(Search::parse(Some("updated_at:>yesterday"), chrono_tz::UTC).is_err());
    }
}
