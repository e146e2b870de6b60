//! Storage backends: the URL that selects one, and the [`Store`] that reads
//! and writes objects and JSON documents through it, each operation bounded
//! by a timeout.
//!
//! This is the only module that talks to opendal, so the rest of the host
//! never depends on its API and a backend swap stays local to this folder.
//! It knows nothing of what it stores: the item documents live in
//! `items/store.rs`, the history segments in `log/history.rs`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use opendal::{ErrorKind, Operator};
use serde::Serialize;
use serde::de::DeserializeOwned;

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

    /// Whether an object exists.
    pub async fn exists(&self, path: &str) -> Result<bool, StorageError> {
        Ok(self.op.exists(path).await?)
    }

    /// The operator itself, for tests that lay out objects by hand.
    #[cfg(test)]
    pub(crate) fn raw(&self) -> &Operator {
        &self.op
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
    pub async fn list_json(&self, dir: &str) -> Result<Vec<String>, StorageError> {
        let mut names = self.list_names(dir).await?;
        names.retain(|name| name.ends_with(".json"));
        Ok(names)
    }

    /// Reads and parses one document, `None` if it does not exist.
    pub async fn read_json<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, StorageError> {
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
    pub async fn write_json<T: Serialize>(&self, path: &str, doc: &T) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec_pretty(doc).map_err(|_| StorageError::Encode {
            path: path.to_string(),
        })?;
        self.op.write(path, bytes).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
