//! Decimal digits of a `u64` without the formatting machinery, for the
//! text the hub writes on every publish (ids, `retry:` lines).

/// The most digits a `u64` has.
pub(crate) const MAX_DIGITS: usize = 20;

/// `n` in decimal, written at the end of `buf`; returns the digits.
pub(crate) fn digits(n: u64, buf: &mut [u8; MAX_DIGITS]) -> &[u8] {
    let mut start = buf.len();
    let mut rest = n;
    loop {
        start -= 1;
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_what_display_spells() {
        let mut buf = [0; MAX_DIGITS];
        for n in [0, 1, 9, 10, 99, 100, 1_234_567, u64::MAX - 1, u64::MAX] {
            assert_eq!(digits(n, &mut buf), n.to_string().as_bytes(), "{n}");
        }
    }
}
