//! RFM segments: customers named by how recently and how often they buy.

use serde::{Deserialize, Serialize};

/// A named segment, from recency and frequency quintile scores (1–5, 5 best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Champions,
    Loyal,
    Promising,
    NeedsAttention,
    AtRisk,
    Hibernating,
    Lost,
}

impl Segment {
    pub const ALL: [Segment; 7] = [
        Self::Champions,
        Self::Loyal,
        Self::Promising,
        Self::NeedsAttention,
        Self::AtRisk,
        Self::Hibernating,
        Self::Lost,
    ];

    /// Every (recency, frequency) pair falls in exactly one segment.
    pub fn of(recency: i32, frequency: i32) -> Self {
        match (recency, frequency) {
            (4.., 4..) => Self::Champions,
            (3.., 3..) => Self::Loyal,
            (4.., _) => Self::Promising,
            (3, _) => Self::NeedsAttention,
            (_, 3..) => Self::AtRisk,
            (2, _) => Self::Hibernating,
            _ => Self::Lost,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Champions => "champions",
            Self::Loyal => "loyal",
            Self::Promising => "promising",
            Self::NeedsAttention => "needs_attention",
            Self::AtRisk => "at_risk",
            Self::Hibernating => "hibernating",
            Self::Lost => "lost",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Champions => "bought recently and often (recency 4–5, frequency 4–5)",
            Self::Loyal => "buy often and not long ago (recency and frequency 3 or more)",
            Self::Promising => "bought recently, but seldom yet (recency 4–5, frequency 1–2)",
            Self::NeedsAttention => "middling recency, few orders (recency 3, frequency 1–2)",
            Self::AtRisk => "used to buy often, not lately (recency 1–2, frequency 3–5)",
            Self::Hibernating => "few orders, a while ago (recency 2, frequency 1–2)",
            Self::Lost => "few orders, long ago (recency 1, frequency 1–2)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_score_pair_has_one_segment_and_every_segment_is_reachable() {
        let mut seen = std::collections::BTreeSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                seen.insert(Segment::of(r, f));
            }
        }
        assert_eq!(seen.len(), Segment::ALL.len());
        assert_eq!(Segment::of(5, 5), Segment::Champions);
        assert_eq!(Segment::of(1, 5), Segment::AtRisk);
        assert_eq!(Segment::of(1, 1), Segment::Lost);
        assert_eq!(Segment::of(5, 1), Segment::Promising);
    }
}
