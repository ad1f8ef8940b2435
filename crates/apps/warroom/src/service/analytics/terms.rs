//! The terms of mention texts for trending topics: hashtags, and words of at least three
//! letters that are not stop words (English and Spanish, the mentions' languages), URLs,
//! handles or numbers. A term counts once per mention, so one repetitive post cannot trend.

use std::collections::{BTreeSet, HashMap};

/// Whether a term is a hashtag (`#jobs`) or a plain word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Hashtag,
    Word,
}

/// The distinct terms of one text, lowercased (hashtags keep their `#`).
pub fn terms(text: &str) -> BTreeSet<(String, Kind)> {
    let mut out = BTreeSet::new();
    for raw in text.split_whitespace() {
        let lowered = raw.to_lowercase();
        if lowered.starts_with("http://")
            || lowered.starts_with("https://")
            || lowered.starts_with("www.")
        {
            continue;
        }
        // A token may hold several words ("jobs/schools", "end—of"); split on everything but
        // letters, digits, `#`, `@`, `_` and apostrophes, which are dropped inside words.
        for part in lowered
            .split(|c: char| !(c.is_alphanumeric() || matches!(c, '#' | '@' | '_' | '\'' | '’')))
        {
            let part: String = part.chars().filter(|c| !matches!(c, '\'' | '’')).collect();
            if let Some(term) = classify(&part) {
                out.insert(term);
            }
        }
    }
    out
}

fn classify(part: &str) -> Option<(String, Kind)> {
    if part.starts_with('@') {
        return None;
    }
    if let Some(tag) = part.strip_prefix('#') {
        let tag = tag.trim_matches('#');
        if tag.is_empty() || tag.contains('#') || !tag.chars().any(char::is_alphabetic) {
            return None;
        }
        return Some((format!("#{tag}"), Kind::Hashtag));
    }
    let word = part.trim_matches('_');
    if word.chars().count() < 3
        || word.contains(['#', '@'])
        || !word.chars().any(char::is_alphabetic)
        || is_stop_word(word)
    {
        return None;
    }
    Some((word.to_owned(), Kind::Word))
}

/// How many of `texts` use each term.
pub fn count<'a>(texts: impl IntoIterator<Item = &'a str>) -> HashMap<(String, Kind), u64> {
    let mut counts = HashMap::new();
    for text in texts {
        for term in terms(text) {
            *counts.entry(term).or_insert(0) += 1;
        }
    }
    counts
}

fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// Sorted by bytes (binary search); apostrophes already removed ("dont", "youre").
const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "amp",
    "and",
    "any",
    "are",
    "aren",
    "arent",
    "aun",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "cant",
    "como",
    "con",
    "could",
    "couldnt",
    "cuando",
    "cómo",
    "del",
    "desde",
    "did",
    "didnt",
    "does",
    "doesnt",
    "doing",
    "don",
    "dont",
    "down",
    "during",
    "each",
    "ella",
    "ellos",
    "entre",
    "era",
    "esa",
    "ese",
    "eso",
    "esta",
    "este",
    "esto",
    "está",
    "están",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadnt",
    "has",
    "hasnt",
    "have",
    "havent",
    "having",
    "hay",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "into",
    "isn",
    "isnt",
    "its",
    "itself",
    "just",
    "las",
    "les",
    "los",
    "mas",
    "more",
    "most",
    "mustnt",
    "muy",
    "myself",
    "más",
    "nor",
    "nos",
    "not",
    "now",
    "off",
    "once",
    "only",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "para",
    "pero",
    "por",
    "porque",
    "que",
    "qué",
    "same",
    "shant",
    "she",
    "shes",
    "should",
    "shouldnt",
    "sin",
    "sobre",
    "some",
    "son",
    "such",
    "sus",
    "también",
    "than",
    "that",
    "thats",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "theres",
    "these",
    "they",
    "theyre",
    "this",
    "those",
    "through",
    "todo",
    "todos",
    "too",
    "una",
    "under",
    "uno",
    "unos",
    "until",
    "very",
    "via",
    "was",
    "wasnt",
    "were",
    "werent",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "wont",
    "would",
    "wouldnt",
    "you",
    "youd",
    "youll",
    "your",
    "youre",
    "yours",
    "yourself",
    "yourselves",
    "youve",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        terms(text).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn the_stop_word_list_is_sorted_for_binary_search() {
        assert!(
            STOP_WORDS.windows(2).all(|w| w[0] < w[1]),
            "unsorted or repeated"
        );
    }

    #[test]
    fn stop_words_short_words_urls_handles_and_numbers_are_dropped() {
        assert_eq!(
            words("The plan is @senator's https://x.test/1 in 2026 OK, not great"),
            ["great", "plan"]
        );
    }

    #[test]
    fn hashtags_are_their_own_kind_and_keep_the_hash() {
        let t = terms("Vote #Jobs2026 now! #jobs2026 #1 #");
        assert!(t.contains(&("#jobs2026".into(), Kind::Hashtag)));
        assert!(!t.iter().any(|(w, _)| w == "#1" || w == "#"));
        assert!(t.contains(&("vote".into(), Kind::Word)));
    }

    #[test]
    fn punctuation_splits_words_and_apostrophes_join_them() {
        assert_eq!(
            words("schools/healthcare; don't — Springfield's"),
            ["healthcare", "schools", "springfields"]
        );
    }

    #[test]
    fn a_term_counts_once_per_text() {
        let c = count(["budget budget budget", "the budget", "taxes"]);
        assert_eq!(c[&("budget".into(), Kind::Word)], 2);
        assert_eq!(c[&("taxes".into(), Kind::Word)], 1);
    }
}
