//! Phone numbers as every product and vendor adapter accepts them: E.164.

/// E.164: `+`, then 8 to 15 digits, the first not zero.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_need_a_plus_and_eight_to_fifteen_digits() {
        assert!(is_e164("+14155550100"));
        assert!(!is_e164("14155550100"));
        assert!(!is_e164("+0123456789"));
        assert!(!is_e164("+1415555010012345"));
        assert!(!is_e164("+1415-555"));
    }
}
