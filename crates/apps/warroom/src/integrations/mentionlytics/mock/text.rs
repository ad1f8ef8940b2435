//! The mock's word bank: phrasing in a political-campaign voice, authors, places and outlets.
//! `{k}` is the matched term, `{city}` and `{state}` a place. Each bank is written so VADER
//! scores it the way its name says (the mock's tests check the averages).

/// Warm mentions: rallies, debates, endorsements, volunteers.
pub const POSITIVE: &[&str] = &[
    "Great rally for {k} in {city} tonight, the energy was amazing!",
    "{k} nailed the debate. Clear, honest answers and a real plan.",
    "Proud to support {k}. Finally someone who listens to working families.",
    "Huge crowd for {k} in {city} today, people are excited and hopeful",
    "{k} just earned another big endorsement, well deserved",
    "Love what {k} said about lowering costs for families",
    "The {k} town hall in {city} was inspiring. Thoughtful answers to tough questions.",
    "Volunteered for {k} this weekend, so many friendly and supportive neighbors",
    "Strong interview from {k} this morning. Smart, calm and convincing.",
    "The {k} plan on jobs is the best proposal I have seen this cycle",
    "Really impressed by {k} at the forum in {city}. Let's win this!",
    "Good news for {k}: new poll shows a solid lead in {state}",
    "{k} helped clean up the riverfront in {city} today. Nice to see real community work",
    "Thank you {k} for standing up for veterans and their families",
    "The new {k} ad is honest and uplifting, well done",
    "Canvassing for {k} in {city} and the response at the doors is fantastic",
    "{k} made a great point on childcare tonight. Support this 100%",
];

/// Matter-of-fact mentions: schedules, filings, live coverage, questions.
pub const NEUTRAL: &[&str] = &[
    "{k} will hold a town hall in {city} on Thursday at 7pm",
    "Watching the {k} press conference now",
    "{k} campaign releases its schedule for the final week",
    "Live updates: {k} speaks to reporters in {city}",
    "{k} to appear on the Sunday morning shows",
    "Where does {k} stand on property taxes? Thread below",
    "New filing shows {k} campaign spending in {state}",
    "{k} staff confirmed the date of the next debate",
    "Anyone going to the {k} event in {city} tomorrow?",
    "Transcript of the {k} remarks from this afternoon",
    "{k} campaign office opens on Main Street in {city}",
    "Poll: {k} and rivals tied in {state}",
    "{k} is on the ballot in {state} this November",
    "Early voting starts next week in {state}, {k} events listed here",
];

/// Everyday criticism, outside any crisis: mildly negative.
pub const NEGATIVE: &[&str] = &[
    "Not impressed with {k} at the debate, lots of talk and no plan",
    "{k} dodged the question on taxes again. Disappointing.",
    "Sorry, but the {k} ad was boring and misleading",
    "The {k} answer on healthcare was weak",
    "Still waiting for {k} to explain the budget numbers. Frustrating.",
    "{k} skipped the forum in {city}. Bad look.",
    "Worried about the reckless {k} stance on energy prices",
    "The {k} rally in {city} caused a traffic mess, annoying",
];

/// A crisis: scandal, lies, calls to resign. What a burst is made of.
pub const CRISIS: &[&str] = &[
    "OUTRAGE: {k} caught lying about the budget. Resign now!",
    "The {k} scandal is disgusting. Voters are sick of the lies.",
    "Leaked emails show {k} lied to voters. Shameful and corrupt.",
    "{k} must resign. This scandal is a disgrace.",
    "Unbelievable. {k} insulted veterans and refuses to apologize. Terrible.",
    "So angry about the {k} cover-up. Lies, lies, lies.",
    "{k} is a fraud. Worst scandal of this campaign",
    "Donors furious after the {k} scandal, calls to resign grow louder",
    "Betrayed and disgusted. I will never vote for {k} again.",
    "{k} blamed staff for the mess. Pathetic and dishonest.",
    "Corrupt, arrogant and out of touch. Shame on {k}!",
    "The {k} scandal keeps getting worse, another ugly lie exposed",
    "Absolutely horrible behavior from {k}. Resign!",
    "{k} lied, people got hurt, and now the campaign is in crisis",
];

/// Headlines for news outlets, one bank per tone.
pub const NEWS_POSITIVE: &[&str] = &[
    "{k} wins key endorsement ahead of {state} primary",
    "{k} draws large, enthusiastic crowd in {city}",
    "Analysis: {k} gains support with strong debate performance",
    "{k} praised for bipartisan plan to improve local schools",
];
pub const NEWS_NEUTRAL: &[&str] = &[
    "{k} campaign announces events in {city} this week",
    "What to know about {k} before the {state} debate",
    "{k} files quarterly fundraising report",
    "Fact sheet: where {k} stands on the issues",
];
pub const NEWS_NEGATIVE: &[&str] = &[
    "{k} faces criticism over budget claims",
    "Critics slam {k} for skipping {city} forum",
    "Critics say {k} ad is misleading",
];
pub const NEWS_CRISIS: &[&str] = &[
    "Calls for {k} to resign grow amid campaign finance scandal",
    "{k} accused of lying to voters as scandal deepens",
    "Leaked documents fuel outrage at {k}; allies demand resignation",
    "{k} campaign in crisis after fraud allegations",
];

/// Spanish mentions: VADER cannot read them, so the source always scores them.
pub const SPANISH_POSITIVE: &[&str] = &[
    "¡Gran mitin de {k} en {city} esta noche!",
    "Orgullosa de apoyar a {k}, por fin alguien que escucha a las familias",
];
pub const SPANISH_NEUTRAL: &[&str] = &[
    "{k} hablará sobre salud en {city} el jueves",
    "¿Alguien va al evento de {k} mañana?",
];
pub const SPANISH_NEGATIVE: &[&str] = &["No me convenció {k} en el debate"];

pub const FIRST_NAMES: &[&str] = &[
    "Maria", "James", "Linda", "Robert", "Aisha", "Michael", "Jennifer", "David", "Sofia",
    "Daniel", "Emily", "Marcus", "Grace", "Kevin", "Rosa", "Brian", "Hannah", "Luis", "Megan",
    "Tyrone", "Karen", "Jose", "Olivia", "Ethan", "Priya", "Tom", "Keisha", "Ben",
];
pub const LAST_NAMES: &[&str] = &[
    "Lopez",
    "Johnson",
    "Smith",
    "Nguyen",
    "Williams",
    "Garcia",
    "Brown",
    "Patel",
    "Miller",
    "Davis",
    "Rodriguez",
    "Wilson",
    "Kim",
    "Anderson",
    "Thomas",
    "Jackson",
    "Martinez",
    "Lee",
    "Harris",
    "Clark",
    "Walker",
    "Young",
    "Allen",
    "King",
];
/// Handles people pick when they do not use their name.
pub const HANDLES: &[&str] = &[
    "prairie_voter",
    "mainstreet_mom",
    "policywonk",
    "rustbelt_dad",
    "civic_minded",
    "swingstate_sam",
    "the_undecided",
    "ballot_watcher",
    "county_fair_fan",
    "votes_local",
    "union_strong",
    "small_biz_owner",
    "teacher_votes",
    "vet_for_change",
    "campus_dems",
    "taxpayer_first",
];
/// YouTube channels that are not a person.
pub const CHANNELS: &[&str] = &[
    "Civic Lens",
    "The Ballot Box",
    "Campaign Trail Live",
    "Statehouse Talk",
    "Vote Smart Daily",
];
/// Subreddits beside the state's own.
pub const SUBREDDITS: &[&str] = &[
    "politics",
    "PoliticalDiscussion",
    "moderatepolitics",
    "Elections",
];

/// News outlets: (name, domain).
pub const OUTLETS: &[(&str, &str)] = &[
    ("Capitol Ledger", "capitolledger.com"),
    ("The Daily Beacon", "dailybeacon.com"),
    ("Midwest Herald", "midwestherald.com"),
    ("Riverside Tribune", "riversidetribune.com"),
    ("National Wire", "nationalwire.com"),
    ("Statehouse Report", "statehousereport.com"),
    ("Sun Valley Gazette", "sunvalleygazette.com"),
];

/// Places: (city, state abbreviation, state name).
pub const PLACES: &[(&str, &str, &str)] = &[
    ("Columbus", "OH", "Ohio"),
    ("Cleveland", "OH", "Ohio"),
    ("Philadelphia", "PA", "Pennsylvania"),
    ("Pittsburgh", "PA", "Pennsylvania"),
    ("Detroit", "MI", "Michigan"),
    ("Grand Rapids", "MI", "Michigan"),
    ("Milwaukee", "WI", "Wisconsin"),
    ("Madison", "WI", "Wisconsin"),
    ("Phoenix", "AZ", "Arizona"),
    ("Tucson", "AZ", "Arizona"),
    ("Atlanta", "GA", "Georgia"),
    ("Savannah", "GA", "Georgia"),
    ("Las Vegas", "NV", "Nevada"),
    ("Reno", "NV", "Nevada"),
    ("Charlotte", "NC", "North Carolina"),
    ("Raleigh", "NC", "North Carolina"),
    ("Houston", "TX", "Texas"),
    ("Austin", "TX", "Texas"),
    ("Miami", "FL", "Florida"),
    ("Tampa", "FL", "Florida"),
    ("Des Moines", "IA", "Iowa"),
    ("Denver", "CO", "Colorado"),
    ("Los Angeles", "CA", "California"),
    ("New York", "NY", "New York"),
    ("Chicago", "IL", "Illinois"),
    ("Manchester", "NH", "New Hampshire"),
];

/// Mentions of an issue keyword (`healthcare`, `border security`) rather than a person or a
/// campaign: the same tones, phrased about the issue.
pub const ISSUE_POSITIVE: &[&str] = &[
    "Finally a smart plan on {k}. This campaign gets it!",
    "Great town hall on {k} in {city} tonight, so many thoughtful questions",
    "Proud to see {k} at the center of this race. Good news for families.",
    "The debate segment on {k} was excellent, clear and honest",
    "Love the new ideas on {k}. Real solutions for {state}!",
];
pub const ISSUE_NEUTRAL: &[&str] = &[
    "Candidates will discuss {k} at the forum in {city} on Thursday",
    "Where do the candidates stand on {k}? Thread below",
    "New poll: {k} ranks as a top issue for voters in {state}",
    "Watching the {k} panel now",
];
pub const ISSUE_NEGATIVE: &[&str] = &[
    "Still no real answers on {k}. Disappointing debate.",
    "The {k} talking points tonight were weak and misleading",
    "Frustrated that {k} got barely five minutes at the debate. Sad.",
];
pub const ISSUE_CRISIS: &[&str] = &[
    "OUTRAGE over the {k} lies. Someone must resign!",
    "Disgusting {k} scandal. Nobody believes these lies anymore.",
    "Leaked memo on {k} shows voters were lied to. Shameful and corrupt.",
    "Corrupt {k} cover-up exposed. Resign now!",
];
