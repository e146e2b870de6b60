//! The domain types and their validation rules.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::storage::StorageError;

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
