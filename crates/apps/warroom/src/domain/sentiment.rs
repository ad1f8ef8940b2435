//! Sentiment of mention text: the VADER compound score (vaderSentiment 3.3.2 rules) for mentions
//! the source left unscored, and the positive/neutral/negative label the dashboards show (and
//! its cut-offs, which the analytics queries apply in SQL).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vader_parity::SentimentIntensityAnalyzer;

/// VADER's lexicons, parsed once. Immutable data, not configuration, so a static is fine.
static ANALYZER: LazyLock<SentimentIntensityAnalyzer> =
    LazyLock::new(SentimentIntensityAnalyzer::new);

/// VADER compound score of `text`, in -1.0..=1.0 (0.0 for text with nothing to score).
pub fn score(text: &str) -> f64 {
    ANALYZER.polarity_scores(text).compound
}

/// The sentiment to store for a mention: the source's own score when it gave a usable one
/// (clamped to -1..=1), else VADER's score of the text.
pub fn resolve(source: Option<f64>, text: &str) -> f64 {
    match source {
        Some(s) if s.is_finite() => s.clamp(-1.0, 1.0),
        _ => score(text),
    }
}

/// Positive, neutral or negative, by VADER's conventional cut-offs on the compound score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SentimentLabel {
    Positive,
    Neutral,
    Negative,
}

names!(SentimentLabel {
    Positive => "positive",
    Neutral => "neutral",
    Negative => "negative",
});

/// A score at least this is positive.
pub const POSITIVE_MIN: f64 = 0.05;
/// A score at most this is negative; strictly between the two is neutral.
pub const NEGATIVE_MAX: f64 = -0.05;

/// `score >= 0.05` is positive, `score <= -0.05` negative, anything else (NaN too) neutral.
pub fn label(score: f64) -> SentimentLabel {
    if score >= POSITIVE_MIN {
        SentimentLabel::Positive
    } else if score <= NEGATIVE_MAX {
        SentimentLabel::Negative
    } else {
        SentimentLabel::Neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clearly_positive_sentence_scores_positive() {
        let s = score("Great rally tonight, so proud to support our candidate!");
        assert!(s > 0.5, "{s}");
        assert_eq!(label(s), SentimentLabel::Positive);
    }

    #[test]
    fn a_clearly_negative_sentence_scores_negative() {
        let s = score("This scandal is disgusting. The senator lied and must resign.");
        assert!(s < -0.5, "{s}");
        assert_eq!(label(s), SentimentLabel::Negative);
    }

    #[test]
    fn a_factual_sentence_is_neutral() {
        let s = score("The candidate speaks in Columbus on Thursday at 7pm");
        assert_eq!(s, 0.0);
        assert_eq!(label(s), SentimentLabel::Neutral);
    }

    #[test]
    fn negation_turns_good_into_negative() {
        assert!(score("The plan is good") > 0.0);
        let s = score("The plan is not good");
        assert!(s < -0.05, "{s}");
        assert_eq!(label(s), SentimentLabel::Negative);
    }

    #[test]
    fn intensifiers_capitals_and_exclamations_raise_the_magnitude() {
        let plain = score("The debate was good");
        let boosted = score("The debate was very good");
        let shouted = score("The debate was GOOD");
        let exclaimed = score("The debate was good!!!");
        assert!(
            boosted > plain && shouted > plain && exclaimed > plain,
            "{plain} {boosted} {shouted} {exclaimed}"
        );
        assert!(score("The debate was very bad") < score("The debate was bad"));
    }

    #[test]
    fn scores_match_the_python_reference() {
        // vaderSentiment 3.3.2's published example and a negation case it gets right.
        assert_eq!(score("VADER is smart, handsome, and funny."), 0.8316);
        assert_eq!(score("no problem"), 0.3089);
    }

    #[test]
    fn empty_text_scores_zero() {
        assert_eq!(score(""), 0.0);
        assert_eq!(score("   "), 0.0);
        assert_eq!(label(score("")), SentimentLabel::Neutral);
    }

    #[test]
    fn labels_use_vaders_cut_offs() {
        assert_eq!(label(0.05), SentimentLabel::Positive);
        assert_eq!(label(0.0499), SentimentLabel::Neutral);
        assert_eq!(label(-0.0499), SentimentLabel::Neutral);
        assert_eq!(label(-0.05), SentimentLabel::Negative);
        assert_eq!(label(f64::NAN), SentimentLabel::Neutral);
    }

    #[test]
    fn labels_serialize_lowercase() {
        assert_eq!(
            serde_json::to_string(&SentimentLabel::Positive).unwrap(),
            r#""positive""#
        );
        assert_eq!(
            serde_json::from_str::<SentimentLabel>(r#""negative""#).unwrap(),
            SentimentLabel::Negative
        );
    }

    #[test]
    fn the_sources_score_wins_over_vader_and_is_clamped() {
        assert_eq!(resolve(Some(-0.4), "What a wonderful day"), -0.4);
        assert_eq!(resolve(Some(3.0), "anything"), 1.0);
        assert_eq!(
            resolve(None, "The plan is not good"),
            score("The plan is not good")
        );
        assert_eq!(resolve(Some(f64::NAN), ""), 0.0);
    }
}
