//! The event log on a real database (SQLite, or PostgreSQL with `TEST_DATABASE_URL`): ids
//! taken in the writer's transaction, order under concurrent writers, a crash at each point
//! between commit and mark made good by another instance's relay, duplicates dropped by the
//! hub (in memory and on Redis), pruning, and a restarted memory hub continuing the ids.

use super::*;

use platform::{
    db::Pools,
    realtime::{Delivery, EventLog, Published, Subscription},
};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        platform::migrations::migrations()
    }
}

/// A migrated database of the test's own.
async fn database() -> testkit::TestDb {
    let db = testkit::TestDb::fresh("rtlog").await;
    let pools = platform::db::open(&db.url).await.unwrap();
    Migrator::up(&pools.write, None).await.unwrap();
    db
}

/// An instance: its own pools on the database, and a log in front of `hub`.
async fn instance(db: &testkit::TestDb, hub: Hub) -> (Pools, EventLog) {
    let pools = platform::db::open(&db.url).await.unwrap();
    let log = EventLog::new(pools.read.clone(), pools.write.clone(), hub);
    (pools, log)
}

fn memory_hub() -> Hub {
    Hub::memory(HubConfig::default())
}

/// Writes `n` events on `topic` in one transaction and commits; the batch comes back
/// unpublished, as an instance killed right after its commit would leave it.
async fn commit_events(
    pools: &Pools,
    log: &EventLog,
    topic: &str,
    n: usize,
) -> (Vec<u64>, platform::realtime::Batch) {
    let mut batch = log.batch();
    for i in 0..n {
        batch.push(topic, "live_post", json!({ "n": i })).unwrap();
    }
    let txn = pools.write.begin().await.unwrap();
    let ids = batch.write(&txn).await.unwrap();
    txn.commit().await.unwrap();
    (ids, batch)
}

/// The next `n` deliveries' ids; fails on a resync or a silence.
async fn seqs(sub: &mut Subscription, n: usize) -> Vec<u64> {
    let mut out = Vec::new();
    for _ in 0..n {
        match tokio::time::timeout(WAIT, sub.next()).await {
            Ok(Some(Delivery::Event(e))) => out.push(e.seq),
            other => panic!("after {out:?}: expected an event, got {other:?}"),
        }
    }
    out
}

/// Nothing more arrives within a moment.
async fn silent(sub: &mut Subscription) {
    let more = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
    assert!(more.is_err(), "unexpected delivery: {more:?}");
}

#[tokio::test]
async fn events_take_their_ids_in_the_transaction_and_a_rollback_takes_none() {
    let db = database().await;
    let hub = memory_hub();
    let (pools, log) = instance(&db, hub.clone()).await;
    let mut sub = hub.subscribe("campaign:1", None).await.unwrap();

    let mut rolled_back = log.batch();
    rolled_back
        .push("campaign:1", "live_post", json!({}))
        .unwrap();
    let txn = pools.write.begin().await.unwrap();
    assert_eq!(rolled_back.write(&txn).await.unwrap(), vec![1]);
    txn.rollback().await.unwrap();
    assert_eq!(log.unpublished().await.unwrap(), 0);

    let mut batch = log.batch();
    batch
        .push("campaign:1", "live_post", json!({ "a": 1 }))
        .unwrap();
    batch.push("feed", "live_post", json!({ "a": 1 })).unwrap();
    batch.push("campaign:1", "trend_update", json!({})).unwrap();
    let txn = pools.write.begin().await.unwrap();
    // Ids in push order, each topic counting on its own, from where the rollback left it.
    assert_eq!(batch.write(&txn).await.unwrap(), vec![1, 1, 2]);
    txn.commit().await.unwrap();
    batch.publish().await;

    assert_eq!(seqs(&mut sub, 2).await, vec![1, 2]);
    assert_eq!(log.unpublished().await.unwrap(), 0);
    assert!(matches!(
        log.batch().push("has space", "k", 0),
        Err(RealtimeError::InvalidTopic)
    ));
    assert!(matches!(
        log.batch().push("a", "HEARTBEAT", 0),
        Err(RealtimeError::InvalidType)
    ));
}

/// Writers on separate pools (instances) hold their transactions open for a while after
/// taking their ids; every event reaches the subscriber once, in id order, with no resync.
#[tokio::test]
async fn concurrent_writers_of_one_topic_publish_in_sequence_order() {
    const WRITERS: usize = 8;
    const EACH: usize = 5;
    let db = database().await;
    let hub = memory_hub();
    let mut sub = hub.subscribe("campaign:1", None).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (pools, log) = instance(&db, hub.clone()).await;
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..EACH {
                let mut batch = log.batch();
                batch
                    .push("campaign:1", "live_post", json!({ "w": w, "i": i }))
                    .unwrap();
                let txn = pools.write.begin().await.unwrap();
                ids.extend(batch.write(&txn).await.unwrap());
                tokio::time::sleep(Duration::from_millis(((w * 7 + i * 3) % 11) as u64)).await;
                txn.commit().await.unwrap();
                batch.publish().await;
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let n = (WRITERS * EACH) as u64;
    assert_eq!(
        all,
        (1..=n).collect::<Vec<_>>(),
        "ids unique and without holes"
    );
    assert_eq!(
        seqs(&mut sub, n as usize).await,
        (1..=n).collect::<Vec<_>>()
    );
    silent(&mut sub).await;
}

/// An instance dies after its commit, after publishing part of a run, and after publishing a
/// run it did not mark; another instance's relay publishes the rest, and the subscriber gets
/// every event once, in order.
#[tokio::test]
async fn a_relay_publishes_what_a_killed_instance_left_and_duplicates_are_dropped() {
    let db = database().await;
    let hub = memory_hub();
    let mut sub = hub.subscribe("campaign:1", None).await.unwrap();
    let (pools_a, log_a) = instance(&db, hub.clone()).await;
    let (_pools_b, log_b) = instance(&db, hub.clone()).await;

    // Killed after the commit: nothing published.
    let (ids, lost) = commit_events(&pools_a, &log_a, "campaign:1", 3).await;
    drop(lost);
    assert_eq!(ids, vec![1, 2, 3]);
    // Killed mid-run: the hub has 4 and 5 of 4..=7, nothing is marked.
    let (ids, lost) = commit_events(&pools_a, &log_a, "campaign:1", 4).await;
    drop(lost);
    assert_eq!(ids, vec![4, 5, 6, 7]);
    assert_eq!(log_a.unpublished().await.unwrap(), 7);

    assert_eq!(log_b.relay().await.unwrap(), 7);
    assert_eq!(seqs(&mut sub, 7).await, (1..=7).collect::<Vec<_>>());

    // Killed before marking: the hub took 8 and 9; the relay's second publish is dropped.
    let (_, lost) = commit_events(&pools_a, &log_a, "campaign:1", 2).await;
    drop(lost);
    for seq in [8, 9] {
        let p = hub
            .publish_with_seq(
                "campaign:1",
                seq,
                "live_post",
                json!({}),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        assert!(matches!(p, Published::Accepted(_)));
    }
    assert_eq!(seqs(&mut sub, 2).await, vec![8, 9]);
    assert_eq!(log_b.relay().await.unwrap(), 2, "both marked");
    silent(&mut sub).await;
    assert_eq!(log_b.unpublished().await.unwrap(), 0);
    let again = hub
        .publish_with_seq("campaign:1", 5, "live_post", json!({}), chrono::Utc::now())
        .await
        .unwrap();
    assert!(matches!(again, Published::Duplicate));
    silent(&mut sub).await;
}

/// Two relays publishing the same events at once reach the subscriber once each, in order.
#[tokio::test]
async fn two_relays_racing_over_the_same_events_deliver_each_once() {
    let db = database().await;
    let hub = memory_hub();
    let mut sub = hub.subscribe("feed", None).await.unwrap();
    let (pools, log) = instance(&db, hub.clone()).await;
    for _ in 0..10 {
        let (_, lost) = commit_events(&pools, &log, "feed", 20).await;
        drop(lost);
    }
    let (_, other) = instance(&db, hub.clone()).await;
    let (a, b) = tokio::join!(log.relay(), other.relay());
    a.unwrap();
    b.unwrap();
    assert_eq!(seqs(&mut sub, 200).await, (1..=200).collect::<Vec<_>>());
    silent(&mut sub).await;
    assert_eq!(log.unpublished().await.unwrap(), 0);
}

/// A process restarted on a memory hub continues each topic where the log stands: a new
/// subscriber starts at the last published id and gets the next one without a resync.
#[tokio::test]
async fn a_restarted_memory_hub_continues_the_ids_of_the_log() {
    let db = database().await;
    let (pools, log) = instance(&db, memory_hub()).await;
    let (_, batch) = commit_events(&pools, &log, "campaign:1", 4).await;
    batch.publish().await;
    let (_, lost) = commit_events(&pools, &log, "campaign:1", 1).await;
    drop(lost);

    let hub = memory_hub();
    let (_, restarted) = instance(&db, hub.clone()).await;
    let background = Background::new();
    restarted.start(&background).await.unwrap();
    // The relay may have published event 5 already: the position is 4 or 5.
    let mut sub = hub.subscribe("campaign:1", None).await.unwrap();
    let start = sub.position();
    assert!((4..=5).contains(&start), "position {start}");
    let (_, batch) = commit_events(&pools, &restarted, "campaign:1", 1).await;
    batch.publish().await;
    let expect: Vec<u64> = (start + 1..=6).collect();
    assert_eq!(seqs(&mut sub, expect.len()).await, expect);
    background.shutdown().await;
}

#[tokio::test]
async fn published_events_are_pruned_and_unpublished_ones_kept() {
    let db = database().await;
    let (pools, log) = instance(&db, memory_hub()).await;
    let (_, batch) = commit_events(&pools, &log, "a", 3).await;
    batch.publish().await;
    let (_, lost) = commit_events(&pools, &log, "a", 2).await;
    drop(lost);
    assert_eq!(log.prune(Duration::from_secs(3600)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(log.prune(Duration::ZERO).await.unwrap(), 3);
    assert_eq!(log.unpublished().await.unwrap(), 2);
    // The counter outlives its events: ids go on.
    let (ids, _) = commit_events(&pools, &log, "a", 1).await;
    assert_eq!(ids, vec![6]);
    let rows = pools
        .read
        .query_all_raw(Statement::from_string(
            pools.read.get_database_backend(),
            "SELECT seq FROM realtime_events ORDER BY seq",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
}

/// On Redis: two instances' relays publish the same killed instance's events at once; the
/// script drops what a topic already has, so a subscriber on either hub gets each once.
#[tokio::test]
async fn on_redis_two_relays_deliver_each_event_once_in_order() {
    let Some(url) = testkit::redis_url() else {
        return;
    };
    let prefix = format!("rt-log-test-{}", uuid::Uuid::new_v4().simple());
    let hub_a = Hub::redis(&url, &prefix, HubConfig::default())
        .await
        .unwrap();
    let hub_b = Hub::redis(&url, &prefix, HubConfig::default())
        .await
        .unwrap();
    let db = database().await;
    let (pools, log_a) = instance(&db, hub_a.clone()).await;
    let (_, log_b) = instance(&db, hub_b.clone()).await;
    let mut sub_a = hub_a.subscribe("campaign:1", None).await.unwrap();
    let mut sub_b = hub_b.subscribe("campaign:1", None).await.unwrap();
    for _ in 0..5 {
        let (_, lost) = commit_events(&pools, &log_a, "campaign:1", 10).await;
        drop(lost);
    }
    // A killed instance had published 1 and 2 without marking them.
    for seq in [1, 2] {
        let p = hub_a
            .publish_with_seq(
                "campaign:1",
                seq,
                "live_post",
                json!({}),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        assert!(matches!(p, Published::Accepted(_)));
    }
    let (a, b) = tokio::join!(log_a.relay(), log_b.relay());
    a.unwrap();
    b.unwrap();
    let all: Vec<u64> = (1..=50).collect();
    assert_eq!(seqs(&mut sub_a, 50).await, all);
    assert_eq!(seqs(&mut sub_b, 50).await, all);
    silent(&mut sub_a).await;
    let dup = hub_b
        .publish_with_seq("campaign:1", 50, "live_post", json!({}), chrono::Utc::now())
        .await
        .unwrap();
    assert!(matches!(dup, Published::Duplicate));
    // A late subscriber resuming from 45 replays from Redis.
    let mut late = hub_b.subscribe("campaign:1", Some(45)).await.unwrap();
    assert_eq!(seqs(&mut late, 5).await, vec![46, 47, 48, 49, 50]);
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(keys)
        .query_async(&mut conn)
        .await
        .unwrap();
}
