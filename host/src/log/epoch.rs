//! Epoch tokens: the name of one history, so a new history's ids are never
//! mistaken for an earlier one's.

use tidings_core::Epoch;

/// A new epoch token: 10 characters of `[a-z0-9]` from the OS's randomness.
pub fn new_epoch() -> Epoch {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 10];
    getrandom::fill(&mut raw).expect("the OS provides randomness");
    let token: String = raw
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    Epoch::new(&token).expect("alphabet is valid")
}
