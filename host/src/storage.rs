//! Storage backends for items and revisions: the URL that selects one, and the
//! [`Store`] that reads and writes JSON documents through it.
//!
//! This is the only module that talks to opendal, so the rest of the host
//! never depends on its API and a backend swap stays local to this file.
//!
//! Layout inside the store root:
//!
//! - `items/<part_number>.json` holds one [`Item`];
//! - `revisions/<part_number>/<number, zero-padded to 8>.json` holds one
//!   [`Revision`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use opendal::{ErrorKind, Operator};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::items::{Item, Revision, valid_part_number};

/// Region used when an `s3://` URL names none.
const DEFAULT_REGION: &str = "us-east-1";

/// Folder, relative to an fs root, where writes are staged before the rename
/// that publishes them; it lives under the root so the rename never crosses a
/// filesystem, and outside `items/` and `revisions/` so listings never see it.
const FS_STAGING_DIR: &str = ".staging";

/// Where items and revisions are kept, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// A local directory (`fs:<dir>`), created on open if missing.
    Fs(PathBuf),
    /// A process-local in-memory store (`memory`), lost on exit.
    Memory,
    /// An S3-compatible bucket
    /// (`s3://<bucket>?endpoint=<url>&region=<region>`), addressed path-style.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Endpoint URL, `http://` or `https://`, without credentials.
        endpoint: String,
        /// Signing region.
        region: String,
    },
}

/// Why a storage URL was rejected; messages never repeat values, which keeps
/// anything pasted by mistake out of logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageUrlError {
    /// The URL matches none of the supported forms.
    #[error("unsupported storage url: expected fs:<dir>, memory or s3://<bucket>?endpoint=<url>")]
    UnknownScheme,
    /// `fs:` was given without a directory.
    #[error("fs storage url needs a directory, e.g. fs:./data")]
    EmptyPath,
    /// The bucket name breaks the S3 naming rules.
    #[error("s3 bucket must be 3 to 63 characters of [a-z0-9.-]")]
    BadBucket,
    /// The endpoint is not a plain http(s) URL.
    #[error("s3 endpoint must be an http:// or https:// url without credentials")]
    BadEndpoint,
    /// The region is empty or has characters other than `[a-z0-9-]`.
    #[error("s3 region must be characters of [a-z0-9-]")]
    BadRegion,
    /// A query parameter other than `endpoint` and `region` was given.
    #[error("unknown s3 url parameter (allowed: endpoint, region)")]
    UnknownParam,
    /// A query parameter was given twice.
    #[error("s3 url parameter given twice")]
    DuplicateParam,
    /// A query parameter has no `=value`.
    #[error("s3 url parameter without a value")]
    MissingValue,
}

impl FromStr for StorageUrl {
    type Err = StorageUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "memory" {
            return Ok(StorageUrl::Memory);
        }
        if let Some(dir) = s.strip_prefix("fs:") {
            if dir.is_empty() {
                return Err(StorageUrlError::EmptyPath);
            }
            return Ok(StorageUrl::Fs(PathBuf::from(dir)));
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            return parse_s3(rest);
        }
        Err(StorageUrlError::UnknownScheme)
    }
}

/// Parses the part of an S3 URL after `s3://`.
fn parse_s3(rest: &str) -> Result<StorageUrl, StorageUrlError> {
    let (bucket, query) = match rest.split_once('?') {
        Some((bucket, query)) => (bucket, Some(query)),
        None => (rest, None),
    };
    if !valid_bucket(bucket) {
        return Err(StorageUrlError::BadBucket);
    }
    let mut endpoint = None;
    let mut region = None;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').ok_or(StorageUrlError::MissingValue)?;
        if value.is_empty() {
            return Err(StorageUrlError::MissingValue);
        }
        let slot = match key {
            "endpoint" => &mut endpoint,
            "region" => &mut region,
            _ => return Err(StorageUrlError::UnknownParam),
        };
        if slot.replace(value.to_string()).is_some() {
            return Err(StorageUrlError::DuplicateParam);
        }
    }
    let region = region.unwrap_or_else(|| DEFAULT_REGION.to_string());
    if !region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(StorageUrlError::BadRegion);
    }
    // Without an endpoint the bucket is on AWS itself.
    let endpoint = endpoint.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
    if !valid_endpoint(&endpoint) {
        return Err(StorageUrlError::BadEndpoint);
    }
    Ok(StorageUrl::S3 {
        bucket: bucket.to_string(),
        endpoint: endpoint.trim_end_matches('/').to_string(),
        region,
    })
}

/// S3 bucket naming rules, simplified: 3–63 of `[a-z0-9.-]`, starting and
/// ending with a letter or digit.
fn valid_bucket(bucket: &str) -> bool {
    let ok_edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && ok_edge(bucket.as_bytes().first())
        && ok_edge(bucket.as_bytes().last())
}

/// An endpoint is `http(s)://host[:port][/path]` with no userinfo, so that
/// printing a [`StorageUrl`] can never print a password.
fn valid_endpoint(endpoint: &str) -> bool {
    let Some(rest) = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    !authority.is_empty() && !authority.contains('@') && !endpoint.contains(['?', '#', ' ', '&'])
}

impl fmt::Display for StorageUrl {
    /// Prints the URL back in its parseable form; it holds no secrets
    /// because credentials only ever come from the environment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageUrl::Fs(dir) => write!(f, "fs:{}", dir.display()),
            StorageUrl::Memory => f.write_str("memory"),
            StorageUrl::S3 {
                bucket,
                endpoint,
                region,
            } => write!(f, "s3://{bucket}?endpoint={endpoint}&region={region}"),
        }
    }
}

/// Why a storage operation failed. `Display` names only the kind of failure,
/// so it is safe to show to API clients; the opendal error, with paths and
/// endpoints, is kept as the `source` for logs.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `AWS_ACCESS_KEY_ID` or `AWS_SECRET_ACCESS_KEY` is not set.
    #[error("s3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")]
    MissingCredentials,
    /// An fs storage directory is not valid UTF-8, which opendal requires.
    #[error("storage directory path is not valid utf-8")]
    NonUtf8Path,
    /// A part number that cannot be a storage key was passed to a write.
    #[error("invalid part number for storage key")]
    InvalidKey,
    /// The backend failed or could not be reached.
    #[error("storage unavailable: {kind}")]
    Unavailable {
        /// The opendal error kind, e.g. `PermissionDenied`.
        kind: ErrorKind,
        /// The full opendal error, for logs.
        #[source]
        source: opendal::Error,
    },
    /// A stored document could not be parsed.
    #[error("stored document is corrupt: {path}")]
    Corrupt {
        /// Path of the document inside the store.
        path: String,
    },
    /// A document could not be encoded as JSON.
    #[error("document could not be encoded: {path}")]
    Encode {
        /// Path the document was meant for.
        path: String,
    },
}

impl From<opendal::Error> for StorageError {
    fn from(source: opendal::Error) -> Self {
        StorageError::Unavailable {
            kind: source.kind(),
            source,
        }
    }
}

/// S3 access keys, read from the environment by [`Store::open`].
#[derive(Clone)]
struct S3Credentials {
    access_key_id: String,
    secret_access_key: String,
}

impl fmt::Debug for S3Credentials {
    // Keys never reach a log, even through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S3Credentials(..)")
    }
}

impl S3Credentials {
    /// Reads both keys, or `None` when either is unset or empty.
    fn from_env() -> Option<Self> {
        let read = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        Some(S3Credentials {
            access_key_id: read("AWS_ACCESS_KEY_ID")?,
            secret_access_key: read("AWS_SECRET_ACCESS_KEY")?,
        })
    }
}

/// Item and revision documents on one opendal backend. Cheap to clone: clones
/// share the backend.
#[derive(Clone, Debug)]
pub struct Store {
    op: Operator,
}

impl Store {
    /// Opens the backend named by `url`. An fs directory is created if
    /// missing; S3 credentials are taken from `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` and nothing else (no `~/.aws`, no instance
    /// metadata). Opening does no network I/O: use [`Store::probe`] for that.
    pub fn open(url: &StorageUrl) -> Result<Store, StorageError> {
        let credentials = match url {
            StorageUrl::S3 { .. } => {
                Some(S3Credentials::from_env().ok_or(StorageError::MissingCredentials)?)
            }
            _ => None,
        };
        Self::open_with(url, credentials)
    }

    /// [`Store::open`] with the S3 credentials passed in, so tests need not
    /// touch the process environment.
    fn open_with(
        url: &StorageUrl,
        credentials: Option<S3Credentials>,
    ) -> Result<Store, StorageError> {
        let op = match url {
            StorageUrl::Fs(dir) => {
                let root = dir.to_str().ok_or(StorageError::NonUtf8Path)?;
                let staging = dir.join(FS_STAGING_DIR);
                let staging = staging.to_str().ok_or(StorageError::NonUtf8Path)?;
                // opendal's fs creates both directories when missing, and with
                // a staging dir every write is fsync'd there then renamed into
                // place, so a crash never leaves a half-written document.
                let builder = opendal::services::Fs::default()
                    .root(root)
                    .atomic_write_dir(staging);
                Operator::new(builder)?
            }
            StorageUrl::Memory => Operator::new(opendal::services::Memory::default())?,
            StorageUrl::S3 {
                bucket,
                endpoint,
                region,
            } => {
                let credentials = credentials.ok_or(StorageError::MissingCredentials)?;
                // Built without opendal's auto-registration, so the HTTP
                // client is installed here; later calls are no-ops.
                opendal::install_default();
                // Path-style addressing is the builder default; it is what
                // MinIO and most S3-compatible stores expect.
                let builder = opendal::services::S3::default()
                    .bucket(bucket)
                    .endpoint(endpoint)
                    .region(region)
                    .access_key_id(&credentials.access_key_id)
                    .secret_access_key(&credentials.secret_access_key)
                    .disable_config_load()
                    .disable_ec2_metadata();
                Operator::new(builder)?
            }
        };
        Ok(Store { op })
    }

    /// Bounds every operation on the backend by `timeout` (and every read or
    /// write chunk too), so a store that accepts connections and never
    /// answers fails the request instead of holding it, and the write lock,
    /// forever.
    pub fn with_timeout(self, timeout: std::time::Duration) -> Store {
        let layer = opendal::layers::TimeoutLayer::new()
            .with_timeout(timeout)
            .with_io_timeout(timeout);
        Store {
            op: self.op.layer(layer),
        }
    }

    /// Checks that the backend answers by listing its root.
    ///
    /// This has no timeout of its own: a hung store hangs this call, so the
    /// caller must bound it (e.g. with `tokio::time::timeout`).
    pub async fn probe(&self) -> Result<(), StorageError> {
        self.op.check().await?;
        Ok(())
    }

    /// Reads one item, or `None` if it does not exist.
    pub async fn get_item(&self, part_number: &str) -> Result<Option<Item>, StorageError> {
        if !valid_part_number(part_number) {
            // No document can have been stored under such a name.
            return Ok(None);
        }
        self.read_json(&item_path(part_number)).await
    }

    /// Reads every item, sorted by part number.
    pub async fn list_items(&self) -> Result<Vec<Item>, StorageError> {
        let mut items = Vec::new();
        for name in self.list_json("items/").await? {
            let Some(part_number) = name.strip_suffix(".json") else {
                continue;
            };
            if !valid_part_number(part_number) {
                tracing::warn!(name, "ignoring stray file in items/");
                continue;
            }
            let path = item_path(part_number);
            // A file that vanished since the listing was deleted concurrently.
            let Some(item) = self.read_json::<Item>(&path).await? else {
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
        self.write_json(&item_path(&item.part_number), item).await
    }

    /// Deletes one item and all of its revisions; returns whether the item
    /// existed.
    pub async fn delete_item(&self, part_number: &str) -> Result<bool, StorageError> {
        if !valid_part_number(part_number) {
            return Ok(false);
        }
        let path = item_path(part_number);
        if !self.op.exists(&path).await? {
            return Ok(false);
        }
        // Revisions go first: if we stop half-way, the item survives with
        // fewer revisions, instead of orphan revisions that a future item
        // with the same part number would inherit.
        self.op
            .delete_with(&revisions_dir(part_number))
            .recursive(true)
            .await?;
        self.op.delete(&path).await?;
        Ok(true)
    }

    /// Reads the revisions of one item, sorted by number; empty when there
    /// are none (including when the item does not exist).
    pub async fn list_revisions(&self, part_number: &str) -> Result<Vec<Revision>, StorageError> {
        if !valid_part_number(part_number) {
            return Ok(Vec::new());
        }
        let mut revisions = Vec::new();
        for name in self.list_json(&revisions_dir(part_number)).await? {
            let Some(number) = name
                .strip_suffix(".json")
                .and_then(|n| n.parse::<u32>().ok())
            else {
                tracing::warn!(name, "ignoring stray file in revisions/");
                continue;
            };
            let path = revision_path(part_number, number);
            let Some(revision) = self.read_json::<Revision>(&path).await? else {
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
        self.write_json(&path, revision).await
    }

    /// Whether what is written outlives the process (not so for `memory`).
    pub fn is_durable(&self) -> bool {
        self.op.info().scheme() != "memory"
    }

    /// Whether the backend appends to an object in place (fs does; S3 and
    /// memory rewrite whole objects).
    pub fn can_append(&self) -> bool {
        self.op.info().capability().write_can_append
    }

    /// Reads a whole object, `None` if it does not exist.
    pub async fn read_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match self.op.read(path).await {
            Ok(buf) => Ok(Some(buf.to_vec())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates or replaces a whole object.
    pub async fn write_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.op.write(path, bytes).await?;
        Ok(())
    }

    /// Appends to an existing object (see [`Store::can_append`]).
    pub async fn append_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.op.write_with(path, bytes).append(true).await?;
        Ok(())
    }

    /// Names of the objects directly in `dir` (which ends in `/`), without
    /// directories; empty when `dir` does not exist.
    pub async fn list_names(&self, dir: &str) -> Result<Vec<String>, StorageError> {
        let entries = match self.op.list(dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(entries
            .into_iter()
            .filter(|e| !e.metadata().is_dir() && !e.path().ends_with('/'))
            .map(|e| e.name().to_string())
            .collect())
    }

    /// Deletes an object; deleting a missing one succeeds.
    pub async fn delete_object(&self, path: &str) -> Result<(), StorageError> {
        self.op.delete(path).await?;
        Ok(())
    }

    /// Deletes everything under `dir` (which ends in `/`).
    pub async fn delete_dir(&self, dir: &str) -> Result<(), StorageError> {
        self.op.delete_with(dir).recursive(true).await?;
        Ok(())
    }

    /// Names of the `.json` files directly in `dir` (which ends in `/`).
    ///
    /// Backends disagree on listings: fs returns `dir` itself, S3 returns
    /// common prefixes as directories, memory returns neither. Keeping only
    /// non-directory entries whose name ends in `.json` makes them agree.
    async fn list_json(&self, dir: &str) -> Result<Vec<String>, StorageError> {
        let mut names = self.list_names(dir).await?;
        names.retain(|name| name.ends_with(".json"));
        Ok(names)
    }

    /// Reads and parses one document, `None` if it does not exist.
    async fn read_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, StorageError> {
        let buffer = match self.op.read(path).await {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match serde_json::from_slice(&buffer.to_bytes()) {
            Ok(doc) => Ok(Some(doc)),
            Err(error) => {
                tracing::error!(path, %error, "stored document does not parse");
                Err(StorageError::Corrupt {
                    path: path.to_string(),
                })
            }
        }
    }

    /// Encodes and writes one document.
    async fn write_json<T: Serialize>(&self, path: &str, doc: &T) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec_pretty(doc).map_err(|_| StorageError::Encode {
            path: path.to_string(),
        })?;
        self.op.write(path, bytes).await?;
        Ok(())
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

    async fn round_trip(store: &Store) {
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
        let store = Store::open(&StorageUrl::Memory).expect("open");
        round_trip(&store).await;
    }

    #[tokio::test]
    async fn fs_round_trip_and_root_creation() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("nested/data");
        let store = Store::open(&StorageUrl::Fs(root.clone())).expect("open");
        assert!(root.is_dir());
        round_trip(&store).await;
        // Documents are plain files under the documented layout.
        assert!(root.join("items/B-2.json").is_file());
        assert!(root.join("revisions/B-2/00000001.json").is_file());

        // A second store on the same folder sees the same data.
        let again = Store::open(&StorageUrl::Fs(root)).expect("reopen");
        assert_eq!(again.list_items().await.expect("list").len(), 1);
    }

    async fn stray_entries_are_ignored(store: &Store) {
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
            store.op.write(path, "{}").await.expect("write stray");
        }
        store.op.create_dir("items/dir.json/").await.expect("mkdir");
        let items = store.list_items().await.expect("list");
        assert_eq!(items, [item("A-1", "first")]);
        let revisions = store.list_revisions("A-1").await.expect("revs");
        assert_eq!(revisions, [revision("A-1", 1)]);
    }

    #[tokio::test]
    async fn memory_list_ignores_strays() {
        let store = Store::open(&StorageUrl::Memory).expect("open");
        stray_entries_are_ignored(&store).await;
    }

    #[tokio::test]
    async fn fs_list_ignores_strays() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&StorageUrl::Fs(tmp.path().to_path_buf())).expect("open");
        stray_entries_are_ignored(&store).await;
    }

    #[tokio::test]
    async fn corrupt_documents_are_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&StorageUrl::Fs(tmp.path().to_path_buf())).expect("open");
        store
            .op
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
        let memory = Store::open(&StorageUrl::Memory).expect("open");
        let doc = serde_json::to_vec(&item("OTHER", "x")).expect("encode");
        memory.op.write("items/A.json", doc).await.expect("write");
        assert!(matches!(
            memory.list_items().await,
            Err(StorageError::Corrupt { .. })
        ));
        memory
            .op
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
        let store = Store::open(&StorageUrl::Memory).expect("open");
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

    #[test]
    fn url_parsing_table() {
        let s3 = |bucket: &str, endpoint: &str, region: &str| StorageUrl::S3 {
            bucket: bucket.into(),
            endpoint: endpoint.into(),
            region: region.into(),
        };
        let good = [
            ("memory", StorageUrl::Memory),
            ("fs:./data", StorageUrl::Fs("./data".into())),
            (
                "fs:/var/lib/tidings",
                StorageUrl::Fs("/var/lib/tidings".into()),
            ),
            (
                "s3://items?endpoint=http://127.0.0.1:9000&region=eu-west-1",
                s3("items", "http://127.0.0.1:9000", "eu-west-1"),
            ),
            (
                "s3://my.bucket-1?endpoint=https://minio.local/",
                s3("my.bucket-1", "https://minio.local", "us-east-1"),
            ),
            (
                "s3://items?region=eu-west-1&endpoint=http://localhost:9000",
                s3("items", "http://localhost:9000", "eu-west-1"),
            ),
            (
                "s3://items",
                s3("items", "https://s3.us-east-1.amazonaws.com", "us-east-1"),
            ),
        ];
        for (input, want) in good {
            assert_eq!(input.parse::<StorageUrl>(), Ok(want.clone()), "{input}");
            // Display gives back a URL that parses to the same value.
            assert_eq!(want.to_string().parse::<StorageUrl>(), Ok(want), "{input}");
        }

        use StorageUrlError::*;
        let bad = [
            ("", UnknownScheme),
            ("mem", UnknownScheme),
            ("Memory", UnknownScheme),
            ("file:./data", UnknownScheme),
            ("fs:", EmptyPath),
            ("s3://", BadBucket),
            ("s3://ab", BadBucket),
            ("s3://Items", BadBucket),
            ("s3://items/prefix", BadBucket),
            ("s3://key:secret@items", BadBucket),
            ("s3://-items", BadBucket),
            ("s3://items?endpoint=ftp://host", BadEndpoint),
            ("s3://items?endpoint=http://", BadEndpoint),
            ("s3://items?endpoint=http://user:pw@host:9000", BadEndpoint),
            ("s3://items?endpoint=http://h&region=EU", BadRegion),
            ("s3://items?endpoint=http://h&bucket=x", UnknownParam),
            (
                "s3://items?endpoint=http://h&endpoint=http://g",
                DuplicateParam,
            ),
            ("s3://items?endpoint", MissingValue),
            ("s3://items?region=", MissingValue),
        ];
        for (input, want) in bad {
            assert_eq!(input.parse::<StorageUrl>(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn url_errors_do_not_echo_input() {
        let err = "s3://items?endpoint=http://user:hunter2@host"
            .parse::<StorageUrl>()
            .expect_err("bad");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[tokio::test]
    async fn s3_open_needs_no_network_and_hides_secrets() {
        let url: StorageUrl = "s3://items?endpoint=http://127.0.0.1:9&region=eu-west-1"
            .parse()
            .expect("url");
        let credentials = S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "s3cr3t-value".into(),
        };
        let store = Store::open_with(&url, Some(credentials.clone())).expect("open");
        assert!(!format!("{store:?}").contains("s3cr3t-value"));
        assert!(!format!("{credentials:?}").contains("s3cr3t-value"));
        assert!(!url.to_string().contains("s3cr3t-value"));
        assert!(matches!(
            Store::open_with(&url, None),
            Err(StorageError::MissingCredentials)
        ));
    }

    #[tokio::test]
    async fn s3_probe_reaches_the_http_transport() {
        // A loopback port that was just free: the probe must fail on the
        // connection, proving an HTTP client is installed, and fail fast.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let url: StorageUrl = format!("s3://items?endpoint=http://127.0.0.1:{port}")
            .parse()
            .expect("url");
        let credentials = S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "s3cr3t-value".into(),
        };
        let store = Store::open_with(&url, Some(credentials)).expect("open");
        let result = tokio::time::timeout(std::time::Duration::from_secs(30), store.probe())
            .await
            .expect("probe finishes");
        match result {
            Err(StorageError::Unavailable { kind, source }) => {
                assert_ne!(kind, ErrorKind::ConfigInvalid, "{source}");
            }
            other => panic!("expected a connection failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn s3_probe_is_path_style_and_signed() {
        use std::io::{BufRead, BufReader, Write};
        // A one-request fake S3 on loopback that records the request head.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).expect("read") == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_string());
            }
            let body = r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>items</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"#;
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .expect("respond");
            head
        });

        let url: StorageUrl =
            format!("s3://items?endpoint=http://127.0.0.1:{port}&region=eu-west-1")
                .parse()
                .expect("url");
        let credentials = S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "s3cr3t-value".into(),
        };
        let store = Store::open_with(&url, Some(credentials)).expect("open");
        let result = tokio::time::timeout(std::time::Duration::from_secs(30), store.probe())
            .await
            .expect("probe finishes");
        // Only join once the probe succeeded: had it failed before connecting,
        // the server would still be waiting in `accept`.
        result.expect("probe ok");
        let head = server.join().expect("server");
        assert!(head[0].starts_with("GET /items?"), "{head:?}");
        let authorization = head
            .iter()
            .find(|h| h.to_ascii_lowercase().starts_with("authorization:"))
            .expect("signed request");
        assert!(
            authorization.contains("Credential=AKIDEXAMPLE/"),
            "{authorization}"
        );
        assert!(authorization.contains("/eu-west-1/s3/"), "{authorization}");
    }

    #[test]
    fn unavailable_display_names_only_the_kind() {
        let err: StorageError = opendal::Error::new(ErrorKind::PermissionDenied, "at /secret/path")
            .with_context("endpoint", "http://internal:9000")
            .into();
        assert_eq!(err.to_string(), "storage unavailable: PermissionDenied");
    }
}
