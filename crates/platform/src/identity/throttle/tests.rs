//! The throttle's rule at its boundaries (explicit clocks), on both stores (Redis when
//! `TEST_REDIS_URL` is set), and under concurrency with the real clock.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use super::*;

const SECRET: &[u8] = b"test-secret-0123456789abcdef0123456789";

fn policy() -> ThrottlePolicy {
    ThrottlePolicy::default()
}

#[test]
fn the_default_numbers_are_three_free_then_doubling_from_one_second_then_fifteen_minutes() {
    let p = policy();
    let secs: Vec<u64> = (0..=11).map(|n| p.delay(n).as_secs()).collect();
    assert_eq!(secs, [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 900, 900]);
}

#[test]
fn a_streak_admits_while_failures_and_pending_stay_below_the_free_ones() {
    let p = policy();
    assert_eq!(judge(&p, 0, 0, 0, 1_000), Verdict::Admit);
    assert_eq!(judge(&p, 0, 0, 2, 1_000), Verdict::Admit);
    assert_eq!(judge(&p, 0, 0, 3, 1_000), Verdict::Wait, "three in flight");
    assert_eq!(judge(&p, 2, 900, 1, 1_000), Verdict::Wait);
}

#[test]
fn past_the_free_failures_one_attempt_at_a_time_after_the_delay() {
    let p = policy();
    let last = 10_000;
    assert_eq!(judge(&p, 3, last, 0, last + 400), Verdict::Refuse(600));
    assert_eq!(judge(&p, 3, last, 0, last + 1_000), Verdict::Admit);
    assert_eq!(judge(&p, 3, last, 1, last + 1_000), Verdict::Wait);
    assert_eq!(judge(&p, 4, last, 0, last + 1_999), Verdict::Refuse(1));
    assert_eq!(
        judge(&p, 10, last, 0, last + 60_000),
        Verdict::Refuse(840_000)
    );
    assert_eq!(judge(&p, 10, last, 0, last + 900_000), Verdict::Admit);
}

#[test]
fn the_stronger_verdict_wins() {
    assert_eq!(both(Verdict::Admit, Verdict::Wait), Verdict::Wait);
    assert_eq!(both(Verdict::Wait, Verdict::Refuse(5)), Verdict::Refuse(5));
    assert_eq!(
        both(Verdict::Refuse(7), Verdict::Refuse(5)),
        Verdict::Refuse(7)
    );
    assert_eq!(both(Verdict::Admit, Verdict::Admit), Verdict::Admit);
}

/// One store, driven with explicit clocks.
enum Store {
    Memory(Memory),
    Redis(RedisStreaks),
}

impl Store {
    async fn admit(&self, k: &Keys, id: &str, now: i64) -> (Verdict, bool) {
        match self {
            Store::Memory(m) => m.admit(&policy(), k, id, now),
            Store::Redis(r) => r.admit(&policy(), k, id, now).await.unwrap(),
        }
    }

    async fn finish(&self, k: &Keys, id: &str, outcome: Outcome, applied: bool, now: i64) {
        match self {
            Store::Memory(m) => m.finish(&policy(), k, id, outcome, applied, now),
            Store::Redis(r) => r
                .finish(&policy(), k, id, outcome, applied, now)
                .await
                .unwrap(),
        }
    }

    /// Admits and fails one attempt at `now`.
    async fn fail(&self, k: &Keys, now: i64) {
        let id = uuid::Uuid::new_v4().to_string();
        let (v, applied) = self.admit(k, &id, now).await;
        assert_eq!(v, Verdict::Admit, "attempt at {now}");
        self.finish(k, &id, Outcome::Failure, applied, now).await;
    }
}

fn keys(account: &str, source: &str, trusted_device: bool) -> Keys {
    Keys {
        account: format!("{{{account}}}:a"),
        source: format!("{{{account}}}:s:{source}"),
        known: format!("{{{account}}}:k:{source}"),
        trusted_device,
    }
}

async fn stores() -> Vec<Store> {
    let mut v = vec![Store::Memory(Memory::default())];
    if let Ok(url) = std::env::var("TEST_REDIS_URL") {
        v.push(Store::Redis(RedisStreaks {
            redis: LazyRedis::new(&url).unwrap(),
            prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
        }));
    }
    v
}

/// A moment far enough from zero that "no failure yet" (last = 0) is long ago.
const T: i64 = 1_800_000_000_000;

#[tokio::test]
async fn failures_from_many_addresses_slow_the_whole_account_for_untrusted_sources() {
    for store in stores().await {
        for i in 0..3 {
            store
                .fail(&keys("ann", &format!("10.0.0.{i}"), false), T)
                .await;
        }
        // A fourth address, never seen: the account streak makes it wait a second.
        let (v, applied) = store.admit(&keys("ann", "10.0.0.9", false), "x", T).await;
        assert_eq!(v, Verdict::Refuse(1_000));
        assert!(applied);
        // Bob's account is not affected.
        let (v, _) = store.admit(&keys("bob", "10.0.0.9", false), "y", T).await;
        assert_eq!(v, Verdict::Admit);
    }
}

#[tokio::test]
async fn a_trusted_device_or_known_address_is_not_slowed_by_other_addresses() {
    for store in stores().await {
        // Ann signed in from 192.0.2.1 once: that address is now known for her.
        let home = keys("ann", "192.0.2.1", false);
        let (v, applied) = store.admit(&home, "ok", T).await;
        assert_eq!(v, Verdict::Admit);
        store
            .finish(&home, "ok", Outcome::Success, applied, T)
            .await;
        // Ten failures from ten other addresses: the account is cooling down.
        for i in 0..10 {
            let now = T + i64::from(i) * 120_000;
            store
                .fail(&keys("ann", &format!("10.0.1.{i}"), false), now)
                .await;
        }
        let now = T + 10 * 120_000;
        let stranger = keys("ann", "10.0.2.1", false);
        match store.admit(&stranger, "s", now).await {
            (Verdict::Refuse(ms), true) => assert_eq!(ms, 900_000 - 120_000),
            other => panic!("stranger: {other:?}"),
        }
        // The known address and a device with a valid cookie still get in.
        assert_eq!(store.admit(&home, "h", now).await, (Verdict::Admit, false));
        let device = keys("ann", "d:nonce", true);
        assert_eq!(
            store.admit(&device, "d", now).await,
            (Verdict::Admit, false)
        );
    }
}

#[tokio::test]
async fn a_success_ends_its_sources_streak_but_not_the_accounts() {
    for store in stores().await {
        let k = keys("ann", "10.0.0.1", false);
        for _ in 0..3 {
            store.fail(&k, T).await;
        }
        assert_eq!(store.admit(&k, "a", T + 500).await.0, Verdict::Refuse(500));
        let (v, applied) = store.admit(&k, "ok", T + 1_000).await;
        assert_eq!(v, Verdict::Admit);
        store
            .finish(&k, "ok", Outcome::Success, applied, T + 1_000)
            .await;
        // The address is now known, so only its own (reset) streak applies to it.
        assert_eq!(
            store.admit(&k, "b", T + 1_001).await,
            (Verdict::Admit, false)
        );
        // Another new address still meets the account's streak of three: one at a time.
        let other = keys("ann", "10.0.0.2", false);
        assert_eq!(
            store.admit(&other, "c", T + 1_001).await,
            (Verdict::Admit, true)
        );
        let third = keys("ann", "10.0.0.3", false);
        assert_eq!(store.admit(&third, "d", T + 1_001).await.0, Verdict::Wait);
    }
}

#[tokio::test]
async fn pending_attempts_count_until_they_report_or_expire() {
    for store in stores().await {
        let k = keys("ann", "10.0.0.1", false);
        for id in ["p1", "p2", "p3"] {
            assert_eq!(store.admit(&k, id, T).await.0, Verdict::Admit);
        }
        assert_eq!(store.admit(&k, "p4", T).await.0, Verdict::Wait);
        store.finish(&k, "p1", Outcome::Neutral, true, T).await;
        assert_eq!(store.admit(&k, "p4", T).await.0, Verdict::Admit);
        // An attempt that never reports (its instance died) stops counting.
        let later = T + policy().pending_ms() + 1;
        for id in ["p5", "p6", "p7"] {
            assert_eq!(store.admit(&k, id, later).await.0, Verdict::Admit);
        }
    }
}

#[tokio::test]
async fn a_streak_is_forgotten_an_hour_after_its_last_failure() {
    for store in stores().await {
        let k = keys("ann", "10.0.0.1", false);
        for i in 0..10 {
            store.fail(&k, T + i64::from(i) * 70_000).await;
        }
        let last = T + 9 * 70_000;
        assert!(matches!(
            store.admit(&k, "a", last + 899_000).await.0,
            Verdict::Refuse(1_000)
        ));
        // After the cool-down, one attempt; its failure cools down again.
        store.fail(&k, last + 900_000).await;
        assert!(matches!(
            store.admit(&k, "b", last + 900_001).await.0,
            Verdict::Refuse(_)
        ));
        if let Store::Memory(_) = store {
            // Redis forgets by expiry on its own clock; the memory store by the given one.
            let forgotten = last + 900_000 + policy().forget_ms();
            for id in ["c", "d", "e"] {
                assert_eq!(store.admit(&k, id, forgotten).await.0, Verdict::Admit);
            }
        }
    }
}

fn client(ip: &str) -> ClientInfo {
    ClientInfo {
        ip: Some(ip.parse().unwrap()),
        user_agent: None,
    }
}

#[test]
fn a_device_cookie_counts_only_for_its_account_and_only_untampered() {
    let t = SignInThrottle::new(policy(), SECRET, "warroom", true);
    let grant = t.grant("ann@example.com");
    let c = grant.cookie();
    assert_eq!(c.name(), "warroom_device");
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.secure(), Some(true));
    assert_eq!(c.same_site(), Some(SameSite::Strict));
    let device = Device::new(Some(c.value().to_owned()));
    assert!(device.verified_for(&t, "ann@example.com").is_some());
    assert!(device.verified_for(&t, "bob@example.com").is_none());
    let tampered = format!("{}x", c.value());
    assert!(
        Device::new(Some(tampered))
            .verified_for(&t, "ann@example.com")
            .is_none()
    );
    let other_product = SignInThrottle::new(policy(), SECRET, "pawfect", true);
    assert!(
        device
            .verified_for(&other_product, "ann@example.com")
            .is_some(),
        "same secret, same key: products are kept apart by their secrets and cookie names"
    );
    let other_secret = SignInThrottle::new(policy(), b"another secret entirely", "warroom", true);
    assert!(
        device
            .verified_for(&other_secret, "ann@example.com")
            .is_none()
    );
}

#[test]
fn an_expired_device_cookie_is_not_trusted() {
    let t = SignInThrottle::new(policy(), SECRET, "warroom", false);
    let nonce = "bm9uY2U";
    let issued = now_ms() / 1000 - policy().device_ttl.as_secs() as i64 - 10;
    let mac = t.device_mac("ann@example.com", nonce, issued);
    let old = Device::new(Some(format!("{nonce}.{issued}.{mac}")));
    assert!(old.verified_for(&t, "ann@example.com").is_none());
    let issued = now_ms() / 1000 - 10;
    let mac = t.device_mac("ann@example.com", nonce, issued);
    let fresh = Device::new(Some(format!("{nonce}.{issued}.{mac}")));
    assert_eq!(
        fresh.verified_for(&t, "ann@example.com").as_deref(),
        Some(nonce)
    );
}

#[test]
fn storage_keys_name_no_address_in_clear_and_keep_one_account_in_one_slot() {
    let t = SignInThrottle::new(policy(), SECRET, "warroom", true);
    let k = t.keys("ann@example.com", &client("192.0.2.7"), &Device::default());
    for key in [&k.account, &k.source, &k.known] {
        assert!(!key.contains("ann"), "{key}");
        assert!(key.starts_with('{'), "{key}");
    }
    let tag = |s: &str| s[..s.find('}').unwrap()].to_owned();
    assert_eq!(tag(&k.account), tag(&k.source));
    assert_eq!(tag(&k.account), tag(&k.known));
    assert!(!k.trusted_device);
}

/// Throttles on the memory store and, with `TEST_REDIS_URL`, on Redis.
fn throttles(policy: ThrottlePolicy) -> Vec<SignInThrottle> {
    let t = SignInThrottle::new(policy, SECRET, "warroom", true);
    let mut v = vec![t.clone()];
    if let Ok(url) = std::env::var("TEST_REDIS_URL") {
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        v.push(t.in_redis(&url, &prefix).unwrap());
    }
    v
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_evaluates_only_what_the_streak_allows() {
    for t in throttles(policy()) {
        let evaluated = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (t, evaluated) = (t.clone(), evaluated.clone());
                tokio::spawn(async move {
                    let c = client(&format!("198.51.100.{i}"));
                    let permit = t.admit("ann@example.com", &c, &Device::default()).await?;
                    evaluated.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    permit.failed().await;
                    Ok::<(), ApiError>(())
                })
            })
            .collect();
        let mut refused = 0;
        for task in tasks {
            if let Err(e) = task.await.unwrap() {
                assert_eq!(e.code, crate::error::ErrorCode::ResourceExhausted);
                assert!(e.retry_after.is_some_and(|s| s >= 1));
                refused += 1;
            }
        }
        let n = evaluated.load(Ordering::SeqCst);
        // Three free failures, then one a second at most: the burst (over in well under a
        // second) evaluates three, and never more than the cool-down's ten.
        assert!(
            (3..=policy().cooldown_after as usize).contains(&n),
            "{n} evaluated"
        );
        assert_eq!(refused, 50 - n);
    }
}

#[tokio::test]
async fn a_burst_of_right_passwords_all_gets_in() {
    for t in throttles(policy()) {
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let t = t.clone();
                tokio::spawn(async move {
                    let c = client(&format!("203.0.113.{i}"));
                    let permit = t.admit("ann@example.com", &c, &Device::default()).await?;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    permit.succeeded().await;
                    Ok::<(), ApiError>(())
                })
            })
            .collect();
        for task in tasks {
            task.await
                .unwrap()
                .expect("every right password is admitted");
        }
    }
}

#[tokio::test]
async fn a_dropped_permit_frees_its_place() {
    for t in throttles(policy()) {
        let c = client("192.0.2.1");
        for _ in 0..5 {
            let permit = t.admit("ann@example.com", &c, &Device::default()).await;
            drop(permit.unwrap());
        }
        // Redis releases a dropped permit from a spawned task: give it a moment.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let none = Device::default();
        let held: Vec<_> =
            futures_util::future::join_all((0..3).map(|_| t.admit("ann@example.com", &c, &none)))
                .await;
        assert!(held.iter().all(Result::is_ok), "nothing counted or leaked");
    }
}
