//! Items and revisions: the domain types, their validation, and the write
//! operations whose results the caller publishes as events.
//!
//! Every write is serialised behind one lock (the host is a single node) and
//! returns only once its documents are durably written, so the caller can
//! publish an event after a successful call and never for a failed one.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::storage::{StorageError, Store};

/// Longest part number, in characters.
const MAX_PART_NUMBER: usize = 64;
/// Longest description or revision comment, in characters.
const MAX_TEXT: usize = 1024;
/// Most properties on one item.
const MAX_PROPERTIES: usize = 64;
/// Longest property key, in characters.
const MAX_PROPERTY_KEY: usize = 64;
/// Largest properties object, in bytes of compact JSON.
const MAX_PROPERTIES_BYTES: usize = 16 * 1024;

/// Whether `s` is a valid part number: 1 to 64 characters of
/// `[A-Za-z0-9._-]`, and not `.` or `..`, which name folders in a path.
pub fn valid_part_number(s: &str) -> bool {
    (1..=MAX_PART_NUMBER).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && s != "."
        && s != ".."
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Unique key, see [`valid_part_number`].
    pub part_number: String,
    /// Free text.
    pub description: String,
    /// Arbitrary JSON properties.
    pub properties: Map<String, Value>,
    /// Number of the latest revision, 0 if none.
    pub revision: u32,
    /// Creation time, RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// Last change time, RFC 3339 UTC with milliseconds.
    pub updated_at: String,
}

/// A stored revision of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// The item this revision belongs to.
    pub part_number: String,
    /// 1-based, increasing per item.
    pub number: u32,
    /// Free text.
    pub comment: String,
    /// Creation time, RFC 3339 UTC with milliseconds.
    pub created_at: String,
}

/// Body of a create request, and one row of an import.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// Part number of the new item.
    pub part_number: String,
    /// Description of the new item.
    pub description: String,
    /// Properties; `{}` when absent.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

/// Body of an update request; replaces description and properties.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemUpdate {
    /// New description.
    pub description: String,
    /// New properties; `{}` when absent.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

/// Body of an add-revision request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRevision {
    /// Comment of the new revision.
    pub comment: String,
}

/// Why an input was rejected; each message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The part number breaks [`valid_part_number`].
    #[error("part_number must be 1 to 64 characters of [A-Za-z0-9._-]")]
    PartNumber,
    /// The description is longer than 1024 characters.
    #[error("description must be at most 1024 characters")]
    DescriptionTooLong,
    /// The description contains a NUL character.
    #[error("description must not contain NUL characters")]
    DescriptionNul,
    /// There are more than 64 properties.
    #[error("properties must have at most 64 keys")]
    TooManyProperties,
    /// A property key is empty or longer than 64 characters.
    #[error("properties keys must be 1 to 64 characters")]
    PropertyKey,
    /// The properties encode to more than 16 KiB of JSON.
    #[error("properties must be at most 16384 bytes of json")]
    PropertiesTooLarge,
    /// The comment is longer than 1024 characters.
    #[error("comment must be at most 1024 characters")]
    CommentTooLong,
    /// The comment contains a NUL character.
    #[error("comment must not contain NUL characters")]
    CommentNul,
}

impl NewItem {
    /// Checks the part number, description and properties rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !valid_part_number(&self.part_number) {
            return Err(ValidationError::PartNumber);
        }
        validate_description(&self.description)?;
        validate_properties(&self.properties)
    }
}

impl ItemUpdate {
    /// Checks the description and properties rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_description(&self.description)?;
        validate_properties(&self.properties)
    }
}

impl NewRevision {
    /// Checks the comment rules.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.comment.chars().count() > MAX_TEXT {
            return Err(ValidationError::CommentTooLong);
        }
        if self.comment.contains('\0') {
            return Err(ValidationError::CommentNul);
        }
        Ok(())
    }
}

/// Description: at most 1024 characters, no NUL.
fn validate_description(description: &str) -> Result<(), ValidationError> {
    if description.chars().count() > MAX_TEXT {
        return Err(ValidationError::DescriptionTooLong);
    }
    if description.contains('\0') {
        return Err(ValidationError::DescriptionNul);
    }
    Ok(())
}

/// Properties: at most 64 keys of 1–64 characters, at most 16 KiB as JSON.
fn validate_properties(properties: &Map<String, Value>) -> Result<(), ValidationError> {
    if properties.len() > MAX_PROPERTIES {
        return Err(ValidationError::TooManyProperties);
    }
    if properties
        .keys()
        .any(|k| !(1..=MAX_PROPERTY_KEY).contains(&k.chars().count()))
    {
        return Err(ValidationError::PropertyKey);
    }
    // A map of strings to JSON values always encodes; should it ever fail,
    // treating it as too large still rejects the input.
    let size = serde_json::to_vec(properties).map_or(usize::MAX, |v| v.len());
    if size > MAX_PROPERTIES_BYTES {
        return Err(ValidationError::PropertiesTooLarge);
    }
    Ok(())
}

/// Why an item operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// The request body is invalid.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// An import row is invalid; `row` is the 1-based data row.
    #[error("row {row}: {message}")]
    InvalidRow {
        /// 1-based data row, header excluded.
        row: usize,
        /// What is wrong with it.
        message: String,
    },
    /// An item with this part number already exists.
    #[error("item {0} already exists")]
    Exists(String),
    /// No item has this part number.
    #[error("item {0} not found")]
    NotFound(String),
    /// The store failed; the operation did not complete, so nothing is to be
    /// published.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What an import did, in row order, for the caller to publish.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportOutcome {
    /// Items that did not exist before.
    pub created: Vec<Item>,
    /// Existing items whose description and properties were replaced.
    pub updated: Vec<Item>,
}

/// The item service: reads go straight to the store, writes are serialised.
#[derive(Debug)]
pub struct Items {
    store: Store,
    // Held across each read-modify-write so that two writers never both see
    // "absent" or both pick the same revision number.
    write_lock: Mutex<()>,
}

impl Items {
    /// Wraps a store.
    pub fn new(store: Store) -> Items {
        Items {
            store,
            write_lock: Mutex::new(()),
        }
    }

    /// The underlying store, e.g. for [`Store::probe`].
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reads one item.
    pub async fn get(&self, part_number: &str) -> Result<Item, ItemError> {
        self.store
            .get_item(part_number)
            .await?
            .ok_or_else(|| ItemError::NotFound(part_number.to_string()))
    }

    /// Reads every item, sorted by part number.
    pub async fn list(&self) -> Result<Vec<Item>, ItemError> {
        Ok(self.store.list_items().await?)
    }

    /// Creates an item; fails with [`ItemError::Exists`] if the part number is
    /// taken.
    pub async fn create(&self, new: NewItem, now: SystemTime) -> Result<Item, ItemError> {
        new.validate()?;
        let _guard = self.write_lock.lock().await;
        if self.store.get_item(&new.part_number).await?.is_some() {
            return Err(ItemError::Exists(new.part_number));
        }
        let now = timestamp(now);
        let item = Item {
            part_number: new.part_number,
            description: new.description,
            properties: new.properties,
            revision: 0,
            created_at: now.clone(),
            updated_at: now,
        };
        self.store.put_item(&item).await?;
        Ok(item)
    }

    /// Replaces an item's description and properties.
    pub async fn update(
        &self,
        part_number: &str,
        update: ItemUpdate,
        now: SystemTime,
    ) -> Result<Item, ItemError> {
        update.validate()?;
        let _guard = self.write_lock.lock().await;
        let mut item = self.get(part_number).await?;
        item.description = update.description;
        item.properties = update.properties;
        item.updated_at = timestamp(now);
        self.store.put_item(&item).await?;
        Ok(item)
    }

    /// Deletes an item and its revisions; returns the item as it was.
    pub async fn delete(&self, part_number: &str) -> Result<Item, ItemError> {
        let _guard = self.write_lock.lock().await;
        let item = self.get(part_number).await?;
        self.store.delete_item(part_number).await?;
        Ok(item)
    }

    /// Adds the next revision to an item, bumping its `revision` and
    /// `updated_at`; returns both documents as written.
    pub async fn add_revision(
        &self,
        part_number: &str,
        new: NewRevision,
        now: SystemTime,
    ) -> Result<(Revision, Item), ItemError> {
        new.validate()?;
        let _guard = self.write_lock.lock().await;
        let mut item = self.get(part_number).await?;
        let now = timestamp(now);
        let revision = Revision {
            part_number: item.part_number.clone(),
            number: item.revision.saturating_add(1),
            comment: new.comment,
            created_at: now.clone(),
        };
        // The revision is written before the item that counts it: if we stop
        // in between, the item still names the previous revision and the next
        // call rewrites the unannounced orphan under the same number.
        self.store.put_revision(&revision).await?;
        item.revision = revision.number;
        item.updated_at = now;
        self.store.put_item(&item).await?;
        Ok((revision, item))
    }

    /// Reads an item's revisions, sorted by number.
    pub async fn list_revisions(&self, part_number: &str) -> Result<Vec<Revision>, ItemError> {
        // The item is checked first so a missing item is a 404, not an empty
        // list.
        self.get(part_number).await?;
        Ok(self.store.list_revisions(part_number).await?)
    }

    /// Creates or updates one item per row.
    ///
    /// Every row is validated, and part numbers checked for duplicates,
    /// before anything is written, so an invalid import changes nothing
    /// ([`ItemError::InvalidRow`] names the 1-based data row). Existing items
    /// get the row's description and properties and keep `created_at` and
    /// `revision`. If the store fails part-way, the rows already written are
    /// put back as they were (best effort) before the error is returned.
    pub async fn import(
        &self,
        rows: Vec<NewItem>,
        now: SystemTime,
    ) -> Result<ImportOutcome, ItemError> {
        let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            let row_number = index + 1;
            row.validate().map_err(|e| ItemError::InvalidRow {
                row: row_number,
                message: e.to_string(),
            })?;
            if let Some(first) = first_seen.insert(&row.part_number, row_number) {
                return Err(ItemError::InvalidRow {
                    row: row_number,
                    message: format!(
                        "duplicate part_number {} (first in row {first})",
                        row.part_number
                    ),
                });
            }
        }

        let _guard = self.write_lock.lock().await;
        let now = timestamp(now);
        // Read every current version before writing, so a failure can be
        // undone and no write happens unless all reads worked.
        let mut plan = Vec::with_capacity(rows.len());
        for row in rows {
            let previous = self.store.get_item(&row.part_number).await?;
            let item = match &previous {
                Some(old) => Item {
                    description: row.description,
                    properties: row.properties,
                    updated_at: now.clone(),
                    ..old.clone()
                },
                None => Item {
                    part_number: row.part_number,
                    description: row.description,
                    properties: row.properties,
                    revision: 0,
                    created_at: now.clone(),
                    updated_at: now.clone(),
                },
            };
            plan.push((previous, item));
        }

        for (written, (_, item)) in plan.iter().enumerate() {
            if let Err(error) = self.store.put_item(item).await {
                self.undo_import(&plan[..written]).await;
                return Err(error.into());
            }
        }

        let mut outcome = ImportOutcome::default();
        for (previous, item) in plan {
            match previous {
                Some(_) => outcome.updated.push(item),
                None => outcome.created.push(item),
            }
        }
        Ok(outcome)
    }

    /// Puts back the items an interrupted import had already written.
    async fn undo_import(&self, written: &[(Option<Item>, Item)]) {
        for (previous, item) in written.iter().rev() {
            let result = match previous {
                Some(old) => self.store.put_item(old).await,
                None => self.store.delete_item(&item.part_number).await.map(drop),
            };
            if let Err(error) = result {
                tracing::error!(
                    part_number = %item.part_number,
                    %error,
                    "could not undo a partial import"
                );
            }
        }
    }
}

/// `now` as RFC 3339 UTC with milliseconds. Times before 1970 (a broken
/// clock) are clamped to the epoch, which the formatter cannot go below.
fn timestamp(now: SystemTime) -> String {
    humantime::format_rfc3339_millis(now.max(UNIX_EPOCH)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageUrl;
    use serde_json::json;
    use std::time::Duration;

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
}
