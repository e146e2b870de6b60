//! Item and revision documents on the [`Store`]:
//!
//! - `items/<part_number>.json` holds one [`Item`];
//! - `revisions/<part_number>/<number, zero-padded to 8>.json` holds one
//!   [`Revision`].
//!
//! A part number that breaks [`valid_part_number`] never reaches the store:
//! reads of such a name find nothing and writes are refused, so no request
//! can name a path outside these folders.

use std::ops::Deref;

use super::model::{Item, Revision, valid_part_number};
use crate::storage::{StorageError, Store};

/// A [`Store`] that also reads and writes item documents.
#[derive(Debug, Clone)]
pub struct ItemStore {
    store: Store,
}

impl Deref for ItemStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl ItemStore {
    /// Item documents on `store`.
    pub fn new(store: Store) -> ItemStore {
        ItemStore { store }
    }

    /// Reads one item, or `None` if it does not exist.
    pub async fn get_item(&self, part_number: &str) -> Result<Option<Item>, StorageError> {
        if !valid_part_number(part_number) {
            // No document can have been stored under such a name.
            return Ok(None);
        }
        self.store.read_json(&item_path(part_number)).await
    }

    /// Reads every item, sorted by part number.
    pub async fn list_items(&self) -> Result<Vec<Item>, StorageError> {
        let mut items = Vec::new();
        for name in self.store.list_json("items/").await? {
            let Some(part_number) = name.strip_suffix(".json") else {
                continue;
            };
            if !valid_part_number(part_number) {
                tracing::warn!(name, "ignoring stray file in items/");
                continue;
            }
            let path = item_path(part_number);
            // A file that vanished since the listing was deleted concurrently.
            let Some(item) = self.store.read_json::<Item>(&path).await? else {
                continue;
            };
            if item.part_number != part_number {
                return Err(StorageError::Corrupt { path });
            }
            items.push(item);
        }
        items.sort_by(|a, b| a.part_number.cmp(&b.part_number));
        Ok(items)
    }

    /// Writes (creates or replaces) one item; returns once the write is
    /// complete on the backend.
    pub async fn put_item(&self, item: &Item) -> Result<(), StorageError> {
        if !valid_part_number(&item.part_number) {
            return Err(StorageError::InvalidKey);
        }
        self.store
            .write_json(&item_path(&item.part_number), item)
            .await
    }

    /// Deletes one item and all of its revisions; returns whether the item
    /// existed.
    pub async fn delete_item(&self, part_number: &str) -> Result<bool, StorageError> {
        if !valid_part_number(part_number) {
            return Ok(false);
        }
        let path = item_path(part_number);
        if !self.store.exists(&path).await? {
            return Ok(false);
        }
        // Revisions go first: if we stop half-way, the item survives with
        // fewer revisions, instead of orphan revisions that a future item
        // with the same part number would inherit.
        self.store.delete_dir(&revisions_dir(part_number)).await?;
        self.store.delete_object(&path).await?;
        Ok(true)
    }

    /// Reads the revisions of one item, sorted by number; empty when there
    /// are none (including when the item does not exist).
    pub async fn list_revisions(&self, part_number: &str) -> Result<Vec<Revision>, StorageError> {
        if !valid_part_number(part_number) {
            return Ok(Vec::new());
        }
        let mut revisions = Vec::new();
        for name in self.store.list_json(&revisions_dir(part_number)).await? {
            let Some(number) = name
                .strip_suffix(".json")
                .and_then(|n| n.parse::<u32>().ok())
            else {
                tracing::warn!(name, "ignoring stray file in revisions/");
                continue;
            };
            let path = revision_path(part_number, number);
            let Some(revision) = self.store.read_json::<Revision>(&path).await? else {
                continue;
            };
            if revision.part_number != part_number || revision.number != number {
                return Err(StorageError::Corrupt { path });
            }
            revisions.push(revision);
        }
        revisions.sort_by_key(|r| r.number);
        Ok(revisions)
    }

    /// Writes (creates or replaces) one revision; returns once the write is
    /// complete on the backend.
    pub async fn put_revision(&self, revision: &Revision) -> Result<(), StorageError> {
        if !valid_part_number(&revision.part_number) {
            return Err(StorageError::InvalidKey);
        }
        let path = revision_path(&revision.part_number, revision.number);
        self.store.write_json(&path, revision).await
    }
}

/// Path of an item document.
fn item_path(part_number: &str) -> String {
    format!("items/{part_number}.json")
}

/// Folder of an item's revision documents, with its trailing `/`.
fn revisions_dir(part_number: &str) -> String {
    format!("revisions/{part_number}/")
}

/// Path of a revision document; the zero padding keeps lexical listings in
/// number order for up to 10^8 revisions.
fn revision_path(part_number: &str, number: u32) -> String {
    format!("revisions/{part_number}/{number:08}.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageUrl;
    use serde_json::{Map, json};

    fn item(part_number: &str, description: &str) -> Item {
        let mut properties = Map::new();
        properties.insert("colour".into(), json!("red"));
        Item {
            part_number: part_number.into(),
            description: description.into(),
            properties,
            revision: 0,
            created_at: "2024-01-01T00:00:00.000Z".into(),
            updated_at: "2024-01-01T00:00:00.000Z".into(),
        }
    }

    fn revision(part_number: &str, number: u32) -> Revision {
        Revision {
            part_number: part_number.into(),
            number,
            comment: format!("rev {number}"),
            created_at: "2024-01-02T00:00:00.000Z".into(),
        }
    }

    async fn round_trip(store: &ItemStore) {
        store.probe().await.expect("probe");
        assert!(store.list_items().await.expect("list").is_empty());
        assert_eq!(store.get_item("A-1").await.expect("get"), None);

        store.put_item(&item("B-2", "second")).await.expect("put");
        store.put_item(&item("A-1", "first")).await.expect("put");
        assert_eq!(
            store.get_item("A-1").await.expect("get"),
            Some(item("A-1", "first"))
        );
        let listed: Vec<_> = store
            .list_items()
            .await
            .expect("list")
            .into_iter()
            .map(|i| i.part_number)
            .collect();
        assert_eq!(listed, ["A-1", "B-2"]);

        // Replacing keeps one document.
        store.put_item(&item("A-1", "changed")).await.expect("put");
        assert_eq!(store.list_items().await.expect("list").len(), 2);
        assert_eq!(
            store
                .get_item("A-1")
                .await
                .expect("get")
                .map(|i| i.description),
            Some("changed".to_string())
        );

        for n in [10, 2, 1] {
            store.put_revision(&revision("A-1", n)).await.expect("rev");
        }
        store.put_revision(&revision("B-2", 1)).await.expect("rev");
        let numbers: Vec<_> = store
            .list_revisions("A-1")
            .await
            .expect("revs")
            .into_iter()
            .map(|r| r.number)
            .collect();
        assert_eq!(numbers, [1, 2, 10]);
        assert!(store.list_revisions("C-3").await.expect("revs").is_empty());

        assert!(store.delete_item("A-1").await.expect("delete"));
        assert!(!store.delete_item("A-1").await.expect("delete"));
        assert_eq!(store.get_item("A-1").await.expect("get"), None);
        assert!(store.list_revisions("A-1").await.expect("revs").is_empty());
        // Other items' revisions are untouched.
        assert_eq!(store.list_revisions("B-2").await.expect("revs").len(), 1);
        assert_eq!(store.list_items().await.expect("list").len(), 1);
    }

    #[tokio::test]
    async fn memory_round_trip() {
        let store = ItemStore::new(Store::open(&StorageUrl::Memory).expect("open"));
        round_trip(&store).await;
    }

    #[tokio::test]
    async fn fs_round_trip_and_root_creation() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("nested/data");
        let store = ItemStore::new(Store::open(&StorageUrl::Fs(root.clone())).expect("open"));
        assert!(root.is_dir());
        round_trip(&store).await;
        // Documents are plain files under the documented layout.
        assert!(root.join("items/B-2.json").is_file());
        assert!(root.join("revisions/B-2/00000001.json").is_file());

        // A second store on the same folder sees the same data.
        let again = ItemStore::new(Store::open(&StorageUrl::Fs(root)).expect("reopen"));
        assert_eq!(again.list_items().await.expect("list").len(), 1);
    }

    async fn stray_entries_are_ignored(store: &ItemStore) {
        store.put_item(&item("A-1", "first")).await.expect("put");
        store.put_revision(&revision("A-1", 1)).await.expect("rev");
        for path in [
            "items/readme.txt",
            "items/sub/X.json",
            "items/bad name.json",
            "revisions/A-1/notes.txt",
            "revisions/A-1/nested/00000002.json",
            "revisions/A-1/latest.json",
        ] {
            store.raw().write(path, "{}").await.expect("write stray");
        }
        store
            .raw()
            .create_dir("items/dir.json/")
            .await
            .expect("mkdir");
        let items = store.list_items().await.expect("list");
        assert_eq!(items, [item("A-1", "first")]);
        let revisions = store.list_revisions("A-1").await.expect("revs");
        assert_eq!(revisions, [revision("A-1", 1)]);
    }

    #[tokio::test]
    async fn memory_list_ignores_strays() {
        let store = ItemStore::new(Store::open(&StorageUrl::Memory).expect("open"));
        stray_entries_are_ignored(&store).await;
    }

    #[tokio::test]
    async fn fs_list_ignores_strays() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store =
            ItemStore::new(Store::open(&StorageUrl::Fs(tmp.path().to_path_buf())).expect("open"));
        stray_entries_are_ignored(&store).await;
    }

    #[tokio::test]
    async fn corrupt_documents_are_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store =
            ItemStore::new(Store::open(&StorageUrl::Fs(tmp.path().to_path_buf())).expect("open"));
        store
            .raw()
            .write("items/BAD.json", "{not json")
            .await
            .expect("write");
        assert!(matches!(
            store.get_item("BAD").await,
            Err(StorageError::Corrupt { path }) if path == "items/BAD.json"
        ));
        assert!(matches!(
            store.list_items().await,
            Err(StorageError::Corrupt { .. })
        ));

        // A well-formed document filed under another part number is corrupt too.
        let memory = ItemStore::new(Store::open(&StorageUrl::Memory).expect("open"));
        let doc = serde_json::to_vec(&item("OTHER", "x")).expect("encode");
        memory
            .raw()
            .write("items/A.json", doc)
            .await
            .expect("write");
        assert!(matches!(
            memory.list_items().await,
            Err(StorageError::Corrupt { .. })
        ));
        memory
            .raw()
            .write("revisions/A/00000001.json", "[]")
            .await
            .expect("write");
        assert!(matches!(
            memory.list_revisions("A").await,
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[tokio::test]
    async fn invalid_keys_never_touch_storage() {
        let store = ItemStore::new(Store::open(&StorageUrl::Memory).expect("open"));
        assert_eq!(store.get_item("../x").await.expect("get"), None);
        assert!(!store.delete_item("a/b").await.expect("delete"));
        assert!(store.list_revisions("").await.expect("revs").is_empty());
        assert!(matches!(
            store.put_item(&item("a/b", "x")).await,
            Err(StorageError::InvalidKey)
        ));
        assert!(matches!(
            store.put_revision(&revision("..", 1)).await,
            Err(StorageError::InvalidKey)
        ));
    }
}
