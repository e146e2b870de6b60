use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::service::timestamp;
use super::*;
use crate::storage::{StorageUrl, Store};

fn items() -> Items {
    Items::new(Store::open(&StorageUrl::Memory).expect("open"))
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(secs * 1000 + 5)
}

fn new_item(part_number: &str, description: &str) -> NewItem {
    NewItem {
        part_number: part_number.into(),
        description: description.into(),
        properties: Map::new(),
    }
}

fn props(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

async fn snapshot(items: &Items) -> Vec<(Item, Vec<Revision>)> {
    let mut all = Vec::new();
    for item in items.list().await.expect("list") {
        let revisions = items.list_revisions(&item.part_number).await.expect("revs");
        all.push((item, revisions));
    }
    all
}

#[test]
fn part_number_rule() {
    for good in ["A", "abc-123_X.y", &"9".repeat(64), "...", ".a"] {
        assert!(valid_part_number(good), "{good}");
    }
    for bad in ["", ".", "..", "a b", "a/b", "é", &"9".repeat(65), "a\0"] {
        assert!(!valid_part_number(bad), "{bad:?}");
    }
}

#[test]
fn input_parsing() {
    let item: NewItem =
        serde_json::from_value(json!({"part_number": "A", "description": "d"})).expect("ok");
    assert!(item.properties.is_empty());
    assert!(
        serde_json::from_value::<NewItem>(json!({"part_number": "A"})).is_err(),
        "description is required"
    );
    assert!(
        serde_json::from_value::<NewItem>(
            json!({"part_number": "A", "description": "", "extra": 1})
        )
        .is_err()
    );
    assert!(serde_json::from_value::<ItemUpdate>(json!({"properties": {}})).is_err());
    assert!(serde_json::from_value::<NewRevision>(json!({"comment": "c", "x": 1})).is_err());
}

#[test]
fn validation_rules() {
    let base = new_item("A", "d");
    assert_eq!(base.validate(), Ok(()));
    let check = |f: &dyn Fn(&mut NewItem)| {
        let mut item = base.clone();
        f(&mut item);
        item.validate()
    };
    use ValidationError::*;
    assert_eq!(check(&|i| i.part_number = "a b".into()), Err(PartNumber));
    assert_eq!(check(&|i| i.description = "é".repeat(1024)), Ok(()));
    assert_eq!(
        check(&|i| i.description = "x".repeat(1025)),
        Err(DescriptionTooLong)
    );
    assert_eq!(
        check(&|i| i.description = "a\0b".into()),
        Err(DescriptionNul)
    );
    assert_eq!(
        check(&|i| {
            for n in 0..65 {
                i.properties.insert(format!("k{n}"), json!(n));
            }
        }),
        Err(TooManyProperties)
    );
    assert_eq!(
        check(&|i| {
            i.properties.insert(String::new(), json!(1));
        }),
        Err(PropertyKey)
    );
    assert_eq!(
        check(&|i| {
            i.properties.insert("k".repeat(65), json!(1));
        }),
        Err(PropertyKey)
    );
    assert_eq!(
        check(&|i| {
            i.properties
                .insert("big".into(), json!("x".repeat(16 * 1024)));
        }),
        Err(PropertiesTooLarge)
    );
    assert_eq!(
        NewRevision {
            comment: "x".repeat(1025)
        }
        .validate(),
        Err(CommentTooLong)
    );
    assert_eq!(
        ItemUpdate {
            description: "\0".into(),
            properties: Map::new()
        }
        .validate(),
        Err(DescriptionNul)
    );
    assert_eq!(
        PartNumber.to_string(),
        "part_number must be 1 to 64 characters of [A-Za-z0-9._-]"
    );
}

#[tokio::test]
async fn happy_paths() {
    let items = items();
    let created = items
        .create(
            NewItem {
                part_number: "A-1".into(),
                description: "bolt".into(),
                properties: props(json!({"size": "M4"})),
            },
            at(10),
        )
        .await
        .expect("create");
    assert_eq!(created.revision, 0);
    assert_eq!(created.created_at, "1970-01-01T00:00:10.005Z");
    assert_eq!(created.updated_at, created.created_at);
    assert_eq!(items.get("A-1").await.expect("get"), created);
    items
        .create(new_item("0-first", "nut"), at(11))
        .await
        .expect("create");
    let listed: Vec<_> = items
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.part_number)
        .collect();
    assert_eq!(listed, ["0-first", "A-1"]);

    let updated = items
        .update(
            "A-1",
            ItemUpdate {
                description: "long bolt".into(),
                properties: Map::new(),
            },
            at(20),
        )
        .await
        .expect("update");
    assert_eq!(updated.description, "long bolt");
    assert!(updated.properties.is_empty());
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.updated_at, "1970-01-01T00:00:20.005Z");
    assert_eq!(items.get("A-1").await.expect("get"), updated);

    let (r1, item) = items
        .add_revision(
            "A-1",
            NewRevision {
                comment: "first".into(),
            },
            at(30),
        )
        .await
        .expect("rev");
    assert_eq!((r1.number, item.revision), (1, 1));
    assert_eq!(item.updated_at, "1970-01-01T00:00:30.005Z");
    let (r2, item) = items
        .add_revision(
            "A-1",
            NewRevision {
                comment: "second".into(),
            },
            at(40),
        )
        .await
        .expect("rev");
    assert_eq!((r2.number, item.revision), (2, 2));
    assert_eq!(items.get("A-1").await.expect("get"), item);
    assert_eq!(items.list_revisions("A-1").await.expect("revs"), [r1, r2]);
    assert!(
        items
            .list_revisions("0-first")
            .await
            .expect("revs")
            .is_empty()
    );

    let deleted = items.delete("A-1").await.expect("delete");
    assert_eq!(deleted, item);
    assert!(matches!(
        items.get("A-1").await,
        Err(ItemError::NotFound(_))
    ));
    // Re-creating starts from scratch, without the old revisions.
    let again = items
        .create(new_item("A-1", "new"), at(50))
        .await
        .expect("create");
    assert_eq!(again.revision, 0);
    assert!(items.list_revisions("A-1").await.expect("revs").is_empty());
}

#[tokio::test]
async fn exists_and_not_found() {
    let items = items();
    items
        .create(new_item("A", "x"), at(1))
        .await
        .expect("create");
    assert!(matches!(
        items.create(new_item("A", "y"), at(2)).await,
        Err(ItemError::Exists(p)) if p == "A"
    ));
    assert_eq!(items.get("A").await.expect("get").description, "x");

    let update = ItemUpdate {
        description: "d".into(),
        properties: Map::new(),
    };
    assert!(matches!(
        items.update("B", update, at(3)).await,
        Err(ItemError::NotFound(p)) if p == "B"
    ));
    assert!(matches!(
        items.delete("B").await,
        Err(ItemError::NotFound(_))
    ));
    assert!(matches!(items.get("B").await, Err(ItemError::NotFound(_))));
    assert!(matches!(
        items
            .add_revision(
                "B",
                NewRevision {
                    comment: "c".into()
                },
                at(3)
            )
            .await,
        Err(ItemError::NotFound(_))
    ));
    assert!(matches!(
        items.list_revisions("B").await,
        Err(ItemError::NotFound(_))
    ));
    assert!(matches!(
        items.get("../A").await,
        Err(ItemError::NotFound(_))
    ));
}

#[tokio::test]
async fn validation_failures_change_nothing() {
    let items = items();
    items
        .create(new_item("A", "x"), at(1))
        .await
        .expect("create");
    items
        .add_revision(
            "A",
            NewRevision {
                comment: "c".into(),
            },
            at(2),
        )
        .await
        .expect("rev");
    let before = snapshot(&items).await;

    assert!(matches!(
        items.create(new_item("bad name", "x"), at(3)).await,
        Err(ItemError::Invalid(ValidationError::PartNumber))
    ));
    let bad_update = ItemUpdate {
        description: "x".repeat(2000),
        properties: Map::new(),
    };
    assert!(matches!(
        items.update("A", bad_update, at(3)).await,
        Err(ItemError::Invalid(ValidationError::DescriptionTooLong))
    ));
    assert!(matches!(
        items
            .add_revision(
                "A",
                NewRevision {
                    comment: "\0".into()
                },
                at(3)
            )
            .await,
        Err(ItemError::Invalid(ValidationError::CommentNul))
    ));
    assert_eq!(snapshot(&items).await, before);
}

#[tokio::test]
async fn import_is_all_or_nothing() {
    let items = items();
    items
        .create(new_item("P-1", "old"), at(1))
        .await
        .expect("create");
    let before = snapshot(&items).await;

    let rows = vec![
        new_item("P-1", "a"),
        new_item("P-2", "b"),
        new_item("bad/part", "c"),
        new_item("P-4", "d"),
        new_item("P-5", "e"),
    ];
    match items.import(rows, at(5)).await {
        Err(ItemError::InvalidRow { row, message }) => {
            assert_eq!(row, 3);
            assert!(message.contains("part_number"), "{message}");
        }
        other => panic!("expected row 3 to fail, got {other:?}"),
    }
    assert_eq!(snapshot(&items).await, before);

    let rows = vec![
        new_item("P-2", "a"),
        new_item("P-3", "b"),
        new_item("P-2", "c"),
    ];
    match items.import(rows, at(5)).await {
        Err(ItemError::InvalidRow { row, message }) => {
            assert_eq!(row, 3);
            assert!(message.contains("duplicate part_number P-2"), "{message}");
            assert!(message.contains("row 1"), "{message}");
        }
        other => panic!("expected a duplicate error, got {other:?}"),
    }
    assert_eq!(snapshot(&items).await, before);
}

#[tokio::test]
async fn import_creates_and_updates() {
    let items = items();
    items
        .create(new_item("P-1", "old"), at(1))
        .await
        .expect("create");
    let (_, old) = items
        .add_revision(
            "P-1",
            NewRevision {
                comment: "c".into(),
            },
            at(2),
        )
        .await
        .expect("rev");

    let rows = vec![
        NewItem {
            part_number: "P-2".into(),
            description: "two".into(),
            properties: props(json!({"colour": "red"})),
        },
        new_item("P-1", "one"),
        new_item("P-3", "three"),
    ];
    let outcome = items.import(rows, at(9)).await.expect("import");
    let names = |v: &[Item]| v.iter().map(|i| i.part_number.clone()).collect::<Vec<_>>();
    assert_eq!(names(&outcome.created), ["P-2", "P-3"]);
    assert_eq!(names(&outcome.updated), ["P-1"]);

    let p1 = items.get("P-1").await.expect("get");
    assert_eq!(p1, outcome.updated[0]);
    assert_eq!(p1.description, "one");
    assert_eq!(p1.created_at, old.created_at);
    assert_eq!(p1.revision, 1);
    assert_eq!(p1.updated_at, "1970-01-01T00:00:09.005Z");
    assert_eq!(items.list_revisions("P-1").await.expect("revs").len(), 1);
    assert_eq!(items.get("P-2").await.expect("get"), outcome.created[0]);
    assert_eq!(items.list().await.expect("list").len(), 3);

    let empty = items.import(Vec::new(), at(10)).await.expect("import");
    assert_eq!(empty, ImportOutcome::default());
}

#[tokio::test]
async fn import_storage_failure_leaves_store_unchanged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&StorageUrl::Fs(tmp.path().to_path_buf())).expect("open");
    let items = Items::new(store);
    items
        .create(new_item("P-1", "old"), at(1))
        .await
        .expect("create");
    let before = snapshot(&items).await;
    // A folder where P-3's document belongs makes the read of it fail,
    // which must stop the import before its first write.
    std::fs::create_dir_all(tmp.path().join("items/P-3.json/blocker")).expect("mkdir");

    let rows = vec![
        new_item("P-1", "new"),
        new_item("P-2", "two"),
        new_item("P-3", "three"),
    ];
    assert!(matches!(
        items.import(rows, at(9)).await,
        Err(ItemError::Storage(_))
    ));
    assert_eq!(snapshot(&items).await, before);
}

#[tokio::test]
async fn undo_import_restores_previous_items() {
    let items = items();
    let old = items
        .create(new_item("P-1", "old"), at(1))
        .await
        .expect("create");
    let before = snapshot(&items).await;
    // Simulate the first two writes of an import that then failed.
    let changed = Item {
        description: "new".into(),
        ..old.clone()
    };
    let created = Item {
        part_number: "P-2".into(),
        ..old.clone()
    };
    items.store().put_item(&changed).await.expect("put");
    items.store().put_item(&created).await.expect("put");
    items
        .undo_import(&[(Some(old), changed), (None, created)])
        .await;
    assert_eq!(snapshot(&items).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_revisions_get_distinct_numbers() {
    let items = std::sync::Arc::new(items());
    items
        .create(new_item("A", "x"), at(1))
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for n in 0..8 {
        let items = items.clone();
        tasks.push(tokio::spawn(async move {
            items
                .add_revision(
                    "A",
                    NewRevision {
                        comment: format!("{n}"),
                    },
                    at(2),
                )
                .await
                .map(|(r, _)| r.number)
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.expect("join").expect("rev"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    assert_eq!(items.get("A").await.expect("get").revision, 8);
}

#[test]
fn timestamps() {
    assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        timestamp(UNIX_EPOCH - Duration::from_secs(5)),
        "1970-01-01T00:00:00.000Z"
    );
}
