//! The operating system's CSPRNG: the source of the request-state key and of
//! task ids. There is no fallback: when it fails, the caller gets an error,
//! never a predictable key or id.

/// Fills a buffer with random bytes. [`OS`] everywhere but in tests, which
/// substitute a failing source to exercise the error paths.
pub(crate) type Source = fn(&mut [u8]) -> Result<(), getrandom::Error>;

/// The operating system's CSPRNG.
pub(crate) const OS: Source = getrandom::fill;

/// An unguessable id: 128 bits from `source`, as 32 lower-case hex digits.
///
/// # Errors
/// The source failed.
pub(crate) fn id(source: Source) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    source(&mut bytes)?;
    Ok(crate::hex(&bytes))
}

/// A source that always fails, as the OS's does without entropy.
#[cfg(test)]
pub(crate) fn failing(_: &mut [u8]) -> Result<(), getrandom::Error> {
    Err(getrandom::Error::UNSUPPORTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_128_random_bits_in_hex() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| id(OS).unwrap()).collect();
        assert_eq!(ids.len(), 1000, "ids repeat");
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{id}"
            );
        }
        assert_eq!(id(failing), Err(getrandom::Error::UNSUPPORTED));
    }
}
