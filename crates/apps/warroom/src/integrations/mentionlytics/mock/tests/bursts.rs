//! The mock's bursts: at the configured multiple of the base rate, about one campaign term,
//! read by VADER (and the detector's sentiment-drop rule) as a crisis, on a schedule that
//! differs between configs; and quiet time that reads as none.

use super::*;

#[test]
fn a_burst_runs_at_burst_multiplier_times_the_base_rate() {
    let mock = default_mock();
    let (mut burst_n, mut burst_min, mut quiet_n, mut quiet_min) = (0, 0, 0, 0);
    for n in 1..=5 {
        let id = config(n);
        let ms = day(&mock, id);
        let bursts = bursts_of_the_day(&mock, id);
        assert!(bursts.len() >= 70, "{} bursts in a day", bursts.len());
        for b in &bursts {
            let during = within(&ms, b.start, b.end).len();
            let before = within(&ms, b.start - minutes(10), b.start).len();
            // What a 5x mentionSpike rule sees: each burst's rate against the quiet 10 minutes
            // before it.
            let spike = (during as f64 / 3.0) / (before as f64 / 10.0);
            assert!(
                spike >= 5.5,
                "config {n}, burst at {}: only {spike:.2}x",
                b.start
            );
            burst_n += during;
            burst_min += 3;
        }
        let quiet = ms
            .iter()
            .filter(|m| !mock.in_burst(id, m.timestamp))
            .count();
        quiet_n += quiet;
        quiet_min += 24 * 60 - 3 * bursts.len();
    }
    let ratio = (burst_n as f64 / burst_min as f64) / (quiet_n as f64 / quiet_min as f64);
    assert!(
        (7.2..=8.8).contains(&ratio),
        "bursts run at {ratio:.2}x the quiet rate, want 8 ± 10%"
    );
}

#[test]
fn vader_reads_bursts_as_clearly_negative_and_quiet_time_as_not() {
    let mock = default_mock();
    let (mut burst, mut quiet) = (Vec::new(), Vec::new());
    for n in 1..=5 {
        let id = config(n);
        for m in day(&mock, id).into_iter().filter(|m| m.language == "en") {
            let s = sentiment::score(&m.text);
            if mock.in_burst(id, m.timestamp) {
                burst.push(s)
            } else {
                quiet.push(s)
            }
        }
    }
    let (burst_avg, quiet_avg) = (mean(burst.iter().copied()), mean(quiet.iter().copied()));
    assert!(burst_avg < -0.5, "VADER average in bursts {burst_avg:.3}");
    assert!(
        quiet_avg > 0.2,
        "VADER average in quiet time {quiet_avg:.3}"
    );
    let share = |xs: &[f64], label| {
        xs.iter().filter(|s| sentiment::label(**s) == label).count() as f64 / xs.len() as f64
    };
    assert!(share(&burst, sentiment::SentimentLabel::Negative) > 0.8);
    assert!(share(&quiet, sentiment::SentimentLabel::Negative) < 0.2);
}

#[test]
fn a_sentiment_drop_of_0_3_fires_in_every_burst_and_in_no_quiet_five_minutes() {
    let mock = default_mock();
    let (mut worst_quiet, mut mildest_burst) = (f64::MAX, f64::MIN);
    for n in 1..=5 {
        let id = config(n);
        let ms = day(&mock, id);
        let baseline = mean(
            ms.iter()
                .filter(|m| !mock.in_burst(id, m.timestamp))
                .map(stored),
        );
        let bursts = bursts_of_the_day(&mock, id);
        for (b, next) in bursts.iter().zip(bursts.iter().skip(1)) {
            let during = mean(within(&ms, b.start, b.end).into_iter().map(stored));
            mildest_burst = mildest_burst.max(during - baseline);
            // The 17 quiet minutes up to the next burst, in 5-minute windows.
            let mut at = b.end;
            while at + minutes(5) <= next.start {
                let quiet = mean(within(&ms, at, at + minutes(5)).into_iter().map(stored));
                worst_quiet = worst_quiet.min(quiet - baseline);
                at += minutes(5);
            }
        }
    }
    // Sentiment as stored (the source's score, else VADER's), on the -1..1 scale.
    assert!(
        mildest_burst < -0.6,
        "the mildest burst is only {mildest_burst:.3} below the quiet average"
    );
    assert!(
        worst_quiet > -0.3,
        "a quiet window fell {worst_quiet:.3} below the quiet average"
    );
}

#[test]
fn a_burst_is_about_one_campaign_keyword() {
    let mock = default_mock();
    let id = config(7);
    let ms = day(&mock, id);
    let mut subjects = HashSet::new();
    for b in bursts_of_the_day(&mock, id) {
        let during = within(&ms, b.start, b.end);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for m in &during {
            *counts.entry(m.matched.as_deref().unwrap()).or_default() += 1;
        }
        let (top, top_n) = counts.into_iter().max_by_key(|(_, n)| *n).unwrap();
        assert!(
            KEYWORDS.contains(&top) && top != "healthcare",
            "{top}: a burst is about a name"
        );
        assert!(
            top_n as f64 >= 0.8 * during.len() as f64,
            "{top_n} of {}",
            during.len()
        );
        subjects.insert(top);
    }
    assert!(
        subjects.len() > 1,
        "successive bursts pick different keywords"
    );
}

#[test]
fn a_config_of_issues_alone_bursts_on_an_issue() {
    let mock = default_mock();
    let id = config(20);
    let q = MentionQuery {
        keywords: vec!["healthcare".into()],
        ..query(id, t0(), t0() + chrono::Duration::hours(2))
    };
    let ms = mock.generate(&q);
    let b = mock.burst_at_or_after(id, t0() + minutes(30)).unwrap();
    let during = within(&ms, b.start, b.end);
    let issue = during
        .iter()
        .filter(|m| m.matched.as_deref() == Some("healthcare"))
        .count();
    assert!(
        issue as f64 > 0.8 * during.len() as f64,
        "{issue} of {}",
        during.len()
    );
}

/// Whether `text` was written from `template`: its literal parts appear in order.
fn fits(template: &str, text: &str) -> bool {
    let literal = template.replace("{city}", "{k}").replace("{state}", "{k}");
    let mut rest = text;
    literal.split("{k}").all(|part| match rest.find(part) {
        Some(at) => {
            rest = &rest[at + part.len()..];
            true
        }
        None => false,
    })
}

#[test]
fn issues_are_phrased_as_issues_and_names_as_people() {
    let ms = day(&default_mock(), config(21));
    let issue_banks = [
        text::ISSUE_POSITIVE,
        text::ISSUE_NEUTRAL,
        text::ISSUE_NEGATIVE,
        text::ISSUE_CRISIS,
    ];
    for m in &ms {
        let from_issue_bank = issue_banks
            .iter()
            .flat_map(|b| b.iter())
            .any(|t| fits(t, &m.text));
        let about_issue = m.matched.as_deref() == Some("healthcare");
        assert_eq!(
            from_issue_bank, about_issue,
            "{:?} about {:?}",
            m.text, m.matched
        );
    }
}

#[test]
fn bursts_follow_the_schedule_and_differ_between_configs() {
    let mock = default_mock();
    let ms1 = chrono::Duration::milliseconds(1);
    let mut starts = HashSet::new();
    for n in 1..=10 {
        let id = config(n);
        let b = mock.burst_at_or_after(id, t0()).unwrap();
        assert_eq!(b.end - b.start, minutes(3));
        assert!(b.start > t0() - minutes(3) && b.start <= t0() + minutes(20));
        assert!(mock.in_burst(id, b.start) && mock.in_burst(id, b.end - ms1));
        assert!(!mock.in_burst(id, b.start - ms1) && !mock.in_burst(id, b.end));
        assert_eq!(
            mock.burst_at_or_after(id, b.start + minutes(1)),
            Some(b.clone()),
            "a burst under way"
        );
        let next = mock.burst_at_or_after(id, b.end).unwrap();
        assert_eq!(next.start - b.start, minutes(20));
        starts.insert((b.start - t0()).num_seconds().rem_euclid(20 * 60));
    }
    assert!(
        starts.len() >= 8,
        "configs burst at {starts:?} into the 20-minute period"
    );
}

#[test]
fn a_zero_burst_length_turns_bursts_off() {
    let mock = quiet_mock();
    assert_eq!(mock.burst_at_or_after(config(1), t0()), None);
    assert!(!mock.in_burst(config(1), t0()));
    // No 3-minute window of the day comes near a burst's volume (18 expected, 144 in a burst).
    let ms = day(&mock, config(1));
    let busiest = (0..24 * 20)
        .map(|i| within(&ms, t0() + minutes(3 * i), t0() + minutes(3 * i + 3)).len())
        .max()
        .unwrap();
    assert!(busiest < 36, "{busiest} mentions in 3 quiet minutes");
    let with_bursts = day(&default_mock(), config(1));
    assert!(with_bursts.len() > 2 * ms.len());
}
