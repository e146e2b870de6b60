//! The write operations on items and revisions, whose results the caller
//! publishes as events.
//!
//! Every write is serialised behind one lock (the host is a single node) and
//! returns only once its documents are durably written, so the caller can
//! publish an event after a successful call and never for a failed one.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::Mutex;

use super::model::{Item, ItemError, ItemUpdate, NewItem, NewRevision, Revision};
use super::store::ItemStore;
use crate::storage::Store;

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
    store: ItemStore,
    // Held across each read-modify-write so that two writers never both see
    // "absent" or both pick the same revision number.
    write_lock: Mutex<()>,
}

impl Items {
    /// Wraps a store.
    pub fn new(store: Store) -> Items {
        Items {
            store: ItemStore::new(store),
            write_lock: Mutex::new(()),
        }
    }

    /// The underlying store and its item documents.
    pub fn store(&self) -> &ItemStore {
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
    pub(super) async fn undo_import(&self, written: &[(Option<Item>, Item)]) {
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
pub(super) fn timestamp(now: SystemTime) -> String {
    humantime::format_rfc3339_millis(now.max(UNIX_EPOCH)).to_string()
}
