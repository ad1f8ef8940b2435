//! Mentionlytics MOCK: a realistic, deterministic mention stream for a monitoring config's terms,
//! with crisis bursts on a per-config schedule. The mentions of a window are a pure function of
//! (config id, window, terms, `MockConfig`): time is cut into fixed 10 s slots and each slot is
//! generated from a seed of (config id, slot), so any poll cadence sees the same stream.

use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use uuid::Uuid;

use super::{MentionQuery, MentionSource, SourceError, SourceMention};

#[cfg(test)]
mod tests;
mod text;

/// Length of a generation slot. Bursts start and end on slot boundaries.
const SLOT_MS: i64 = 10_000;
/// The mock never generates more than this much history for one query, whatever its `since`
/// (a config that was never polled may ask from the epoch).
const MAX_WINDOW_MS: i64 = 30 * 24 * 3_600_000;
/// Share of English mentions that carry the source's own sentiment, as real Mentionlytics does.
const SOURCE_SCORED_SHARE: f64 = 0.2;
/// Share of quiet mentions written in Spanish (always source-scored: VADER reads English).
const SPANISH_SHARE: f64 = 0.04;
/// Share of mentions authored by one of the config's influencers, when it names any.
const INFLUENCER_SHARE: f64 = 0.06;
/// Quiet-time tone mix, in percent: positive, neutral, the rest negative.
const QUIET_POSITIVE_PCT: u64 = 50;
const QUIET_NEUTRAL_PCT: u64 = 38;

/// Platforms and their weights when the config names none.
const DEFAULT_PLATFORMS: &[(&str, u64)] = &[
    ("twitter", 35),
    ("facebook", 20),
    ("instagram", 12),
    ("tiktok", 10),
    ("news", 8),
    ("reddit", 8),
    ("youtube", 7),
];

/// How the mock stream behaves. The defaults give ~6 mentions a minute per config and, every
/// 20 minutes, a 3-minute crisis burst at 8x that rate, 85% of it strongly negative.
#[derive(Clone, Debug, PartialEq)]
pub struct MockConfig {
    /// Base rate of mentions per minute for one config.
    pub mentions_per_minute: f64,
    /// Time from one burst's start to the next. Zero disables bursts.
    pub burst_every: Duration,
    /// How long a burst lasts (rounded up to 10 s slots). Zero disables bursts.
    pub burst_length: Duration,
    /// Rate during a burst, as a multiple of the base rate.
    pub burst_multiplier: f64,
    /// Share (0..=1) of burst mentions that are crisis mentions about one campaign keyword.
    pub burst_negative_share: f64,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            mentions_per_minute: 6.0,
            burst_every: Duration::from_secs(20 * 60),
            burst_length: Duration::from_secs(3 * 60),
            burst_multiplier: 8.0,
            burst_negative_share: 0.85,
        }
    }
}

/// The mock source. Holds no state besides its config, so fetches are pure.
#[derive(Clone, Debug)]
pub struct MockMentionlytics {
    /// Mean mentions per slot outside bursts.
    per_slot: f64,
    multiplier: f64,
    negative_share: f64,
    /// Burst period and length in slots; `None` when bursts are off.
    bursts: Option<(i64, i64)>,
}

impl MockMentionlytics {
    /// A mock with `config`. Out-of-range values are clamped: a negative or non-finite rate is
    /// zero, a negative multiplier is 1, the negative share lies in 0..=1.
    pub fn new(config: MockConfig) -> Self {
        let finite_or = |v: f64, d: f64| if v.is_finite() { v } else { d };
        let per_slot =
            finite_or(config.mentions_per_minute, 0.0).max(0.0) * SLOT_MS as f64 / 60_000.0;
        let multiplier = finite_or(config.burst_multiplier, 1.0);
        let every = slots_ceil(config.burst_every);
        let length = slots_ceil(config.burst_length).min(every);
        Self {
            per_slot,
            multiplier: if multiplier < 0.0 { 1.0 } else { multiplier },
            negative_share: finite_or(config.burst_negative_share, 0.0).clamp(0.0, 1.0),
            bursts: (every > 0 && length > 0).then_some((every, length)),
        }
    }

    /// Mentions of `query`'s terms in its window, newest first, at most `query.limit`: what
    /// `fetch` answers, without the async. Also the backfill helper: widen the window.
    pub fn generate(&self, query: &MentionQuery) -> Vec<SourceMention> {
        let oldest = query
            .until
            .checked_sub_signed(chrono::Duration::milliseconds(MAX_WINDOW_MS));
        let since = oldest.map_or(query.since, |oldest| query.since.max(oldest));
        if query.limit == 0 || query.until <= since {
            return Vec::new();
        }
        let terms = Terms::of(query);
        let in_window = |m: &SourceMention| m.timestamp > since && m.timestamp <= query.until;
        let mut out = Vec::new();
        let mut slot = query.until.timestamp_millis().div_euclid(SLOT_MS);
        let first = since.timestamp_millis().div_euclid(SLOT_MS);
        while slot >= first && out.len() < query.limit {
            let newest_first = self.slot_mentions(&terms, slot).into_iter().rev();
            out.extend(newest_first.filter(in_window).take(query.limit - out.len()));
            slot -= 1;
        }
        out
    }

    /// The last `hours` hours before `query.until` (ignoring `query.since`), newest first, at
    /// most `query.limit`: history to backfill when monitoring starts.
    pub fn history(&self, query: &MentionQuery, hours: u32) -> Vec<SourceMention> {
        let since = query
            .until
            .checked_sub_signed(chrono::Duration::hours(i64::from(hours)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.generate(&MentionQuery {
            since,
            ..query.clone()
        })
    }

    /// Whether config `config_id`'s stream is in a crisis burst at `at`.
    pub fn in_burst(&self, config_id: Uuid, at: DateTime<Utc>) -> bool {
        self.slot_in_burst(
            config_seed(config_id),
            at.timestamp_millis().div_euclid(SLOT_MS),
        )
    }

    /// The burst under way at `at` for `config_id`, or else the next one: `start..end`, end
    /// exclusive. `None` when bursts are off.
    pub fn burst_at_or_after(
        &self,
        config_id: Uuid,
        at: DateTime<Utc>,
    ) -> Option<Range<DateTime<Utc>>> {
        let (every, length) = self.bursts?;
        let slot = at.timestamp_millis().div_euclid(SLOT_MS);
        let offset = burst_offset(config_seed(config_id), every);
        let mut start = offset + (slot - offset).div_euclid(every) * every;
        if slot >= start + length {
            start += every;
        }
        Some(slot_start(start)..slot_start(start + length))
    }

    /// Which burst period (counted from the config's offset) a slot is in; seeds its subject.
    fn burst_index(&self, seed: u64, slot: i64) -> u64 {
        self.bursts.map_or(0, |(every, _)| {
            (slot - burst_offset(seed, every)).div_euclid(every) as u64
        })
    }

    fn slot_in_burst(&self, seed: u64, slot: i64) -> bool {
        self.bursts.is_some_and(|(every, length)| {
            (slot - burst_offset(seed, every)).rem_euclid(every) < length
        })
    }

    /// Every mention of one slot, oldest first. Timestamps are distinct milliseconds.
    fn slot_mentions(&self, terms: &Terms, slot: i64) -> Vec<SourceMention> {
        let slot_seed = mix(terms.seed, slot as u64);
        let burst = self.slot_in_burst(terms.seed, slot);
        let burst_seed = mix(terms.seed, self.burst_index(terms.seed, slot));
        let mean = if burst {
            self.per_slot * self.multiplier
        } else {
            self.per_slot
        };
        // The count is Binomial(2 * mean, 1/2): half a Poisson stream's variance, so a quiet
        // 5-minute window stays near its mean and a burst stands out from it. Bernoulli trials
        // need no `exp`, whose last bit differs between C libraries, so the stream is the same on
        // every platform; each trial owns a sub-slot, so the mentions come out in time order.
        let trials = ((mean * 2.0).ceil() as i64).clamp(1, SLOT_MS);
        let p = (mean / trials as f64).min(1.0);
        let width = SLOT_MS / trials;
        let mut rng = Rng(slot_seed);
        let mut out = Vec::new();
        for trial in 0..trials {
            if rng.unit() < p {
                let n = out.len() as u64;
                let mut m = Rng(mix(slot_seed, n + 1));
                let ms = slot * SLOT_MS + trial * width + m.below(width as u64) as i64;
                let crisis = burst && m.chance(self.negative_share);
                out.push(terms.mention(&mut m, slot, n, ms, crisis, burst_seed));
            }
        }
        out
    }
}

#[async_trait]
impl MentionSource for MockMentionlytics {
    async fn fetch(&self, query: &MentionQuery) -> Result<Vec<SourceMention>, SourceError> {
        Ok(self.generate(query))
    }
}

fn burst_offset(seed: u64, every: i64) -> i64 {
    (mix(seed, 0xB0B5_7000) % every as u64) as i64
}

fn slots_ceil(d: Duration) -> i64 {
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2);
    (ms + SLOT_MS - 1) / SLOT_MS
}

fn slot_start(slot: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(slot * SLOT_MS)
        .single()
        .unwrap_or_default()
}

fn config_seed(config_id: Uuid) -> u64 {
    let (hi, lo) = config_id.as_u64_pair();
    mix(hi, lo)
}

/// The query's terms, resolved once per fetch.
struct Terms<'q> {
    seed: u64,
    id_prefix: String,
    keywords: Vec<&'q str>,
    competitors: Vec<&'q str>,
    influencers: Vec<&'q str>,
    /// Platforms with their weight in the mix.
    platforms: Vec<(&'q str, u64)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Tone {
    Positive,
    Neutral,
    Negative,
    Crisis,
}

impl<'q> Terms<'q> {
    fn of(query: &'q MentionQuery) -> Self {
        // Blank entries (a stray "" in a config) are skipped, not turned into mentions.
        let present = |terms: &'q [String]| -> Vec<&'q str> {
            terms
                .iter()
                .map(String::as_str)
                .filter(|t| !t.trim().is_empty())
                .collect()
        };
        let platforms: Vec<_> = present(&query.platforms)
            .into_iter()
            .map(|p| (p, platform_weight(p)))
            .collect();
        Self {
            seed: config_seed(query.config_id),
            id_prefix: format!("mock-{}", query.config_id.simple()),
            keywords: present(&query.keywords),
            competitors: present(&query.competitors),
            influencers: present(&query.influencers),
            platforms: if platforms.is_empty() {
                DEFAULT_PLATFORMS.to_vec()
            } else {
                platforms
            },
        }
    }

    /// The term a quiet mention is about: a keyword mostly, a competitor sometimes.
    fn quiet_subject(&self, m: &mut Rng) -> Option<&'q str> {
        let competitor =
            !self.competitors.is_empty() && (self.keywords.is_empty() || m.below(100) < 30);
        let pool = if competitor {
            &self.competitors
        } else {
            &self.keywords
        };
        (!pool.is_empty()).then(|| *m.pick(pool))
    }

    /// A burst is about one campaign keyword: a name-like one (a candidate, the campaign) when
    /// the config has any, since "healthcare must resign" reads wrong; else any keyword, else a
    /// competitor.
    fn burst_subject(&self, burst_seed: u64) -> Option<&'q str> {
        let names: Vec<&str> = self
            .keywords
            .iter()
            .copied()
            .filter(|k| is_name(k))
            .collect();
        let pool = if !names.is_empty() {
            &names
        } else if !self.keywords.is_empty() {
            &self.keywords
        } else {
            &self.competitors
        };
        (!pool.is_empty()).then(|| pool[(burst_seed % pool.len() as u64) as usize])
    }

    fn mention(
        &self,
        m: &mut Rng,
        slot: i64,
        n: u64,
        ms: i64,
        crisis: bool,
        burst_seed: u64,
    ) -> SourceMention {
        let (tone, subject) = if crisis {
            (Tone::Crisis, self.burst_subject(burst_seed))
        } else {
            let tone = match m.below(100) {
                x if x < QUIET_POSITIVE_PCT => Tone::Positive,
                x if x < QUIET_POSITIVE_PCT + QUIET_NEUTRAL_PCT => Tone::Neutral,
                _ => Tone::Negative,
            };
            (tone, self.quiet_subject(m))
        };
        let platform = m.weighted(&self.platforms);
        let kind = platform.to_ascii_lowercase();
        let news = matches!(kind.as_str(), "news" | "google");
        let term = subject.unwrap_or("the campaign");
        let issue = !is_name(term);
        let spanish = !crisis && !news && !issue && m.chance(SPANISH_SHARE);
        let (city, state, state_name) = *m.pick(text::PLACES);
        let mut body = m
            .pick(bank(tone, issue, news, spanish))
            .replace("{k}", term)
            .replace("{city}", city)
            .replace("{state}", state_name);

        if matches!(kind.as_str(), "twitter" | "x" | "instagram" | "tiktok") && m.chance(0.35) {
            let tag: String = term.split_whitespace().collect();
            body.push_str(&format!(" #{tag}"));
            if crisis {
                body.push_str(&format!(" #{tag}Scandal"));
            }
        }

        let timestamp = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
        let influencer = !self.influencers.is_empty() && m.chance(INFLUENCER_SHARE);
        let author = if influencer {
            m.pick(&self.influencers).to_string()
        } else if news {
            m.pick(text::OUTLETS).0.to_string()
        } else {
            person(m, &kind)
        };
        let reach = if influencer {
            m.range(50_000, 2_000_000)
        } else if news {
            outlet_reach(m)
        } else {
            reach(m)
        };
        // Large accounts engage a smaller share of their audience. The share does not depend on
        // the tone: a burst raises engagement by its volume alone, so per-mention engagement
        // does not "drop" when a burst ends.
        let per_10k = match reach {
            0..2_000 => m.range(200, 800),
            2_000..20_000 => m.range(100, 400),
            20_000..200_000 => m.range(30, 120),
            200_000..1_000_000 => m.range(10, 40),
            _ => m.range(5, 20),
        };
        let sentiment =
            (spanish || m.chance(SOURCE_SCORED_SHARE)).then(|| source_sentiment(m, tone));
        SourceMention {
            source_id: format!("{}-{slot}-{n}", self.id_prefix),
            url: url(m, &kind, &author, term, timestamp, ms),
            text: body,
            author,
            platform: platform.to_string(),
            sentiment,
            reach,
            engagement: reach * per_10k / 10_000,
            timestamp,
            location: m.chance(0.75).then(|| format!("{city}, {state}")),
            language: if spanish { "es" } else { "en" }.to_string(),
            matched: subject.map(str::to_string),
        }
    }
}

/// The text bank for a mention: Spanish, about an issue, a headline, or a post about a person.
fn bank(tone: Tone, issue: bool, news: bool, spanish: bool) -> &'static [&'static str] {
    match (tone, issue, news, spanish) {
        (Tone::Positive, _, _, true) => text::SPANISH_POSITIVE,
        (Tone::Neutral, _, _, true) => text::SPANISH_NEUTRAL,
        (_, _, _, true) => text::SPANISH_NEGATIVE,
        (Tone::Positive, true, _, _) => text::ISSUE_POSITIVE,
        (Tone::Neutral, true, _, _) => text::ISSUE_NEUTRAL,
        (Tone::Negative, true, _, _) => text::ISSUE_NEGATIVE,
        (Tone::Crisis, true, _, _) => text::ISSUE_CRISIS,
        (Tone::Positive, _, true, _) => text::NEWS_POSITIVE,
        (Tone::Neutral, _, true, _) => text::NEWS_NEUTRAL,
        (Tone::Negative, _, true, _) => text::NEWS_NEGATIVE,
        (Tone::Crisis, _, true, _) => text::NEWS_CRISIS,
        (Tone::Positive, ..) => text::POSITIVE,
        (Tone::Neutral, ..) => text::NEUTRAL,
        (Tone::Negative, ..) => text::NEGATIVE,
        (Tone::Crisis, ..) => text::CRISIS,
    }
}

/// Whether a term reads as a person or a campaign ("Jane Smith", "Smith for Senate") rather
/// than an issue ("healthcare"): it starts with a capital.
fn is_name(term: &str) -> bool {
    term.chars().next().is_some_and(char::is_uppercase)
}

/// Weight of a configured platform in the mix (a platform the mock does not know gets 10).
fn platform_weight(platform: &str) -> u64 {
    let kind = platform.to_ascii_lowercase();
    DEFAULT_PLATFORMS
        .iter()
        .find(|(p, _)| *p == kind)
        .map_or(10, |(_, w)| *w)
}

/// Audience of an ordinary author: heavy-tailed, most small, a few large.
fn reach(m: &mut Rng) -> i64 {
    match m.below(1000) {
        0..700 => m.range(50, 2_000),
        700..920 => m.range(2_000, 20_000),
        920..985 => m.range(20_000, 200_000),
        985..998 => m.range(200_000, 1_000_000),
        _ => m.range(1_000_000, 5_000_000),
    }
}

/// Audience of a news article: thousands for a local story, millions for a national one.
fn outlet_reach(m: &mut Rng) -> i64 {
    match m.below(100) {
        0..70 => m.range(5_000, 50_000),
        70..95 => m.range(50_000, 300_000),
        _ => m.range(300_000, 2_000_000),
    }
}

/// The score the source gives, in thousandths as Mentionlytics rounds them.
fn source_sentiment(m: &mut Rng, tone: Tone) -> f64 {
    let thousandths = match tone {
        Tone::Positive => m.range(300, 900),
        Tone::Neutral => m.range(-50, 50),
        Tone::Negative => m.range(-600, -200),
        Tone::Crisis => m.range(-950, -600),
    };
    thousandths as f64 / 1000.0
}

/// An author's display: a handle on the short-form platforms, a name on Facebook and YouTube.
fn person(m: &mut Rng, kind: &str) -> String {
    let (first, last) = (m.pick(text::FIRST_NAMES), m.pick(text::LAST_NAMES));
    let handle = match m.below(3) {
        0 => format!("{}_{}", first.to_lowercase(), last.to_lowercase()),
        1 => format!(
            "{}{}{}",
            first.to_lowercase(),
            last.to_lowercase(),
            m.range(1, 99)
        ),
        _ => format!("{}{}", m.pick(text::HANDLES), m.range(1, 999)),
    };
    match kind {
        "facebook" => format!("{first} {last}"),
        "youtube" if m.chance(0.4) => m.pick(text::CHANNELS).to_string(),
        "youtube" => format!("{first} {last}"),
        "reddit" => format!("u/{handle}"),
        _ => format!("@{handle}"),
    }
}

/// A permalink shaped like the platform's own.
fn url(m: &mut Rng, kind: &str, author: &str, term: &str, at: DateTime<Utc>, ms: i64) -> String {
    let handle: String = author
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let slug: String = term
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    // Twitter and TikTok ids are snowflakes: milliseconds since 2010-11-04 over 22 random bits.
    let snowflake = ((ms - 1_288_834_974_657).max(0) as u64) << 22 | (m.next() & 0x3F_FFFF);
    match kind {
        "twitter" | "x" => format!("https://x.com/{handle}/status/{snowflake}"),
        "tiktok" => format!("https://www.tiktok.com/@{handle}/video/{snowflake}"),
        "instagram" => format!("https://www.instagram.com/p/{}/", m.token(11)),
        "youtube" => format!("https://www.youtube.com/watch?v={}", m.token(11)),
        "facebook" => format!(
            "https://www.facebook.com/{handle}/posts/{}",
            m.range(100_000_000_000_000, 999_999_999_999_999)
        ),
        "reddit" => {
            let sub = if m.chance(0.3) {
                m.pick(text::PLACES).2.replace(' ', "")
            } else {
                m.pick(text::SUBREDDITS).to_string()
            };
            format!(
                "https://www.reddit.com/r/{sub}/comments/{}/{}/",
                m.base36(7),
                slug.replace('-', "_")
            )
        }
        "news" | "google" => {
            let domain = text::OUTLETS
                .iter()
                .find(|(name, _)| *name == author)
                .map_or("nationalwire.com", |(_, d)| d);
            let (y, mo, d) = (at.year(), at.month(), at.day());
            format!(
                "https://www.{domain}/politics/{y}/{mo:02}/{d:02}/{slug}-{}",
                m.range(100_000, 999_999)
            )
        }
        other => {
            let host: String = other.chars().filter(char::is_ascii_alphanumeric).collect();
            format!(
                "https://www.{host}.com/{handle}/posts/{}",
                m.range(1_000_000, 99_999_999)
            )
        }
    }
}

/// splitmix64 of `a` and `b`: the seed of one slot or one mention.
fn mix(a: u64, b: u64) -> u64 {
    Rng(a ^ Rng(b).next()).next()
}

/// splitmix64, written out so the stream cannot change with a `rand` release.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Uniform in [0, 1) with 53 bits: exact arithmetic, the same on every platform.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn weighted<'a>(&mut self, items: &[(&'a str, u64)]) -> &'a str {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(total.max(1));
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        items[0].0
    }

    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..len).map(|_| char::from(*self.pick(ALPHABET))).collect()
    }

    fn base36(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        (0..len).map(|_| char::from(*self.pick(ALPHABET))).collect()
    }
}
